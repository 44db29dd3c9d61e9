// A training run's peak memory by component as measured (the model's AllocationMeter, the
// optimizer's state tensors and scratch, the process high-water mark) next to the memory
// accounting's estimate of the same run (galore-memory's figures): the end-of-run table of
// galore-train and the "memory" object of its summary.json.
#pragma once

#include "galore/model/llama_model.hpp"
#include "galore/optim/optimizer.hpp"
#include "galore/train/memory_accounting.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace galore {

struct MeasuredMemory {
  // The MemoryBreakdown components; each the largest amount live at once during the run.
  std::int64_t weights = 0;
  std::int64_t gradients = 0;
  std::int64_t optimizer_states = 0;
  std::int64_t projection_matrices = 0;
  std::int64_t quantization_scales = 0;
  std::int64_t activations_and_workspace = 0;  // the model's buffers plus the optimizer's scratch
  // All of the above at the moment the model's buffers peaked (the optimizer's part is constant).
  std::int64_t metered_peak = 0;
  // The process high-water mark: the above plus the runtime, libraries, data, allocator slack
  // and temporaries no meter sees (GEMM packing, the subspace refresh's factorisation).
  std::int64_t process_peak_resident = 0;
};

// Reads the meters now; call after the steps to be measured.
template <class T>
MeasuredMemory measure_memory(LlamaModel<T>& model, Optimizer<T>& optimizer);

// One row per component, the metered peak and the process peak, each with the estimate and
// (measured - estimate) / estimate; MiB; lines end in '\n' except the last.
std::string memory_report_table(const MeasuredMemory& measured, const MemoryBreakdown& estimate);

// {"components": {"weights": {"measured_bytes", "estimated_bytes", "relative_difference"}, ...},
//  "metered_peak": {...}, "process_peak_resident": {...}} with the estimate's total for the last
// two; relative_difference is null where the estimate is 0.
nlohmann::json memory_report_json(const MeasuredMemory& measured, const MemoryBreakdown& estimate);

}  // namespace galore
