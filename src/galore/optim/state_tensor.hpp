// How an optimizer exposes its state for checkpoints: every state tensor with a stable name, shape,
// dtype and a pointer to its storage, so a checkpoint writer can save it and a reader can fill it
// in place (all state is allocated when the optimizer is built, before any step).
#pragma once

#include "galore/core/bf16.hpp"
#include "galore/core/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace galore {

struct StateTensor {
  std::string name;  // "<parameter name>.<state name>", e.g. "model.norm.weight.exp_avg"
  std::vector<std::int64_t> shape;
  std::string dtype;  // "float32", "bfloat16", "uint8" or "int64"
  void* data;         // MemSpace memory, or host memory when on_host
  std::size_t bytes;
  bool on_host;
};

using StateVisitor = std::function<void(const StateTensor&)>;

template <class V>
constexpr const char* state_dtype_name() {
  using T = typename V::non_const_value_type;
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, bf16>) return "bfloat16";
  if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
}

// Describes a contiguous device view as a StateTensor.
template <class V>
StateTensor describe_state(const std::string& name, const V& view) {
  std::vector<std::int64_t> shape;
  for (unsigned r = 0; r < V::rank; ++r) shape.push_back(static_cast<std::int64_t>(view.extent(r)));
  return {name,
          shape,
          state_dtype_name<V>(),
          static_cast<void*>(view.data()),
          view.span() * sizeof(typename V::value_type),
          false};
}

}  // namespace galore
