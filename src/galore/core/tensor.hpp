// View aliases for the whole library, and small shape helpers.
//
// All tensors are row-major (LayoutRight), matching torch's [out, in] weight layout, so weights
// exported to HF names need no transposes. Function arguments that may be sub-blocks of a larger
// array (a head's columns inside a [tokens, hidden] activation) take the LayoutStride forms, to
// which LayoutRight views convert implicitly.
#pragma once

#include "galore/core/bf16.hpp"

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <sstream>
#include <string>

namespace galore {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using HostSpace = Kokkos::HostSpace;

template <class T>
using Vector = Kokkos::View<T*, Kokkos::LayoutRight, MemSpace>;
template <class T>
using Matrix = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
template <class T>
using Tensor3 = Kokkos::View<T***, Kokkos::LayoutRight, MemSpace>;

// Argument forms: any row-major-in-the-last-index block of memory (stride(last) == 1 is checked
// where a library call needs it).
template <class T>
using MatrixRef = Kokkos::View<T**, Kokkos::LayoutStride, MemSpace>;
template <class T>
using Tensor3Ref = Kokkos::View<T***, Kokkos::LayoutStride, MemSpace>;

// "[3x4]" for messages.
template <class View>
std::string shape_string(const View& v) {
  std::ostringstream out;
  out << '[';
  for (unsigned r = 0; r < View::rank; ++r) {
    if (r) out << 'x';
    out << v.extent(r);
  }
  out << ']';
  return out.str();
}

}  // namespace galore
