// Device-callable math, one spelling for every Kokkos version we support.
//
// Kokkos 3.4 keeps these in Kokkos::Experimental; from 3.7 they live in Kokkos:: and the
// Experimental spellings were later removed. Everything in src/ calls galore::math instead.
#pragma once

#include <Kokkos_Core.hpp>

namespace galore::math {

#if KOKKOS_VERSION >= 30700
namespace kmath = ::Kokkos;
#else
namespace kmath = ::Kokkos::Experimental;
#endif

KOKKOS_INLINE_FUNCTION float sqrt(float x) { return kmath::sqrt(x); }
KOKKOS_INLINE_FUNCTION float exp(float x) { return kmath::exp(x); }
KOKKOS_INLINE_FUNCTION float log(float x) { return kmath::log(x); }
KOKKOS_INLINE_FUNCTION float sin(float x) { return kmath::sin(x); }
KOKKOS_INLINE_FUNCTION float cos(float x) { return kmath::cos(x); }
KOKKOS_INLINE_FUNCTION float pow(float x, float y) { return kmath::pow(x, y); }
KOKKOS_INLINE_FUNCTION float abs(float x) { return kmath::fabs(x); }
KOKKOS_INLINE_FUNCTION float max(float x, float y) { return kmath::fmax(x, y); }
KOKKOS_INLINE_FUNCTION float min(float x, float y) { return kmath::fmin(x, y); }
KOKKOS_INLINE_FUNCTION double sqrt(double x) { return kmath::sqrt(x); }
KOKKOS_INLINE_FUNCTION double exp(double x) { return kmath::exp(x); }
KOKKOS_INLINE_FUNCTION double log(double x) { return kmath::log(x); }
KOKKOS_INLINE_FUNCTION double cos(double x) { return kmath::cos(x); }
KOKKOS_INLINE_FUNCTION double sin(double x) { return kmath::sin(x); }

}  // namespace galore::math
