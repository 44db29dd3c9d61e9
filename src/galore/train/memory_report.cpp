// Measured against estimated memory, per component (see memory_report.hpp).
#include "galore/train/memory_report.hpp"

#include "galore/train/resident_memory.hpp"

#include <fmt/format.h>

#include <optional>
#include <vector>

namespace galore {
namespace {

struct Row {
  const char* key;    // summary.json name
  const char* label;  // table label
  std::int64_t measured;
  std::int64_t estimated;
};

std::vector<Row> component_rows(const MeasuredMemory& m, const MemoryBreakdown& e) {
  return {
      {"weights", "weights", m.weights, e.weights},
      {"gradients", "gradients", m.gradients, e.gradients},
      {"optimizer_states", "optimizer states", m.optimizer_states, e.optimizer_states},
      {"projection_matrices", "projection matrices", m.projection_matrices, e.projection_matrices},
      {"quantization_scales", "quantization scales", m.quantization_scales, e.quantization_scales},
      {"activations_and_workspace", "activations + workspace", m.activations_and_workspace,
       e.activations + e.workspace},
  };
}

std::optional<double> relative_difference(std::int64_t measured, std::int64_t estimated) {
  if (estimated == 0) return std::nullopt;
  return (static_cast<double>(measured) - static_cast<double>(estimated)) /
         static_cast<double>(estimated);
}

nlohmann::json entry(std::int64_t measured, std::int64_t estimated) {
  const auto d = relative_difference(measured, estimated);
  return {{"measured_bytes", measured},
          {"estimated_bytes", estimated},
          {"relative_difference", d ? nlohmann::json(*d) : nlohmann::json(nullptr)}};
}

std::string table_line(const char* label, std::int64_t measured, std::int64_t estimated) {
  const auto d = relative_difference(measured, estimated);
  return fmt::format(
      "  {:<30} {:>11.1f} {:>11.1f} {:>9}\n", label, measured / 1048576.0, estimated / 1048576.0,
      d ? fmt::format("{:+.1f}%", 100.0 * *d) : std::string(measured == 0 ? "0" : "-"));
}

}  // namespace

template <class T>
MeasuredMemory measure_memory(LlamaModel<T>& model, Optimizer<T>& optimizer) {
  AllocationMeter& meter = model.memory_meter();
  const OptimizerMemory o = optimizer.memory();
  MeasuredMemory m;
  m.weights = meter.peak_bytes(AllocationKind::Weights);
  m.gradients = meter.peak_bytes(AllocationKind::Gradients);
  m.optimizer_states = static_cast<std::int64_t>(o.states);
  m.projection_matrices = static_cast<std::int64_t>(o.projections);
  m.quantization_scales = static_cast<std::int64_t>(o.quantization_scales);
  m.activations_and_workspace = meter.peak_bytes(AllocationKind::ActivationsAndWorkspace) +
                                static_cast<std::int64_t>(o.scratch);
  m.metered_peak =
      meter.peak_bytes() +
      static_cast<std::int64_t>(o.states + o.projections + o.quantization_scales + o.scratch);
  m.process_peak_resident = peak_resident_bytes();
  return m;
}

std::string memory_report_table(const MeasuredMemory& measured, const MemoryBreakdown& estimate) {
  std::string text =
      fmt::format("  {:<30} {:>11} {:>11} {:>9}\n", "memory (MiB)", "measured", "estimate", "diff");
  for (const Row& r : component_rows(measured, estimate)) {
    text += table_line(r.label, r.measured, r.estimated);
  }
  text += table_line("metered peak (all of the above)", measured.metered_peak, estimate.total());
  text += table_line("process peak resident", measured.process_peak_resident, estimate.total());
  text.pop_back();  // the caller ends the last line
  return text;
}

nlohmann::json memory_report_json(const MeasuredMemory& measured, const MemoryBreakdown& estimate) {
  nlohmann::json components = nlohmann::json::object();
  for (const Row& r : component_rows(measured, estimate)) {
    components[r.key] = entry(r.measured, r.estimated);
  }
  return {{"components", components},
          {"metered_peak", entry(measured.metered_peak, estimate.total())},
          {"process_peak_resident", entry(measured.process_peak_resident, estimate.total())}};
}

template MeasuredMemory measure_memory<float>(LlamaModel<float>&, Optimizer<float>&);
template MeasuredMemory measure_memory<bf16>(LlamaModel<bf16>&, Optimizer<bf16>&);

}  // namespace galore
