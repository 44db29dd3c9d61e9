// Gradient bytes per data-parallel rank per optimizer step, as galore-train under mpiexec sends
// them (docs/mpi.md): the payload of the all-reduces, fp32.
//
//   full       every gradient averaged whole (AdamW, or GaLore with clipping on)
//   projected  GaLore weights average their projected gradient (r x n or m x r, side as
//              optimizer.proj_type = "std" picks it), the rest whole
//   refresh    a subspace-refresh step (every update_gap steps): full gradients, so every rank
//              computes the same basis
//   mean       projected steps and one refresh step per update_gap, averaged
//
// A ring all-reduce puts 2 (N - 1) / N times the payload on each rank's link.
//
//   communication_bytes [--quick] [--markdown FILE]
//     --quick: the 60m preset only (smoke test)
//     --markdown FILE: also write the RESULTS.md section (benchmarks/run_benchmarks.py)
#include "benchmarks/common/markdown_fragment.hpp"
#include "galore/model/config.hpp"
#include "galore/optim/projector.hpp"
#include "galore/train/memory_accounting.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Volume {
  double full = 0, projected = 0;
};

Volume volume(const galore::ModelConfig& model, int rank) {
  Volume v;
  for (const galore::WeightShape& w : galore::llama_weight_shapes(model)) {
    const double bytes = 4.0 * static_cast<double>(w.numel());
    v.full += bytes;
    if (!w.projectable) {
      v.projected += bytes;
      continue;
    }
    const auto side = galore::projection_side(galore::ProjectionType::Std, static_cast<int>(w.rows),
                                              static_cast<int>(w.cols));
    const double low_rows = side == galore::ProjectionSide::Right ? w.rows : rank;
    const double low_cols = side == galore::ProjectionSide::Left ? w.cols : rank;
    v.projected += 4.0 * low_rows * low_cols;
  }
  return v;
}

double mib(double bytes) { return bytes / 1048576.0; }

}  // namespace

int main(int argc, char* argv[]) {
  const galore::bench::BenchmarkOptions options = galore::bench::parse_benchmark_options(
      argc, argv, "communication_bytes [--quick] [--markdown FILE]");
  const bool quick = options.quick;
  galore::bench::MarkdownTable table(
      {"preset", "rank", "full MiB", "projected MiB", "refresh MiB", "mean MiB/step", "full/mean"});
  const std::vector<std::string> presets =
      quick ? std::vector<std::string>{"60m"}
            : std::vector<std::string>{"60m", "130m", "350m", "1b", "7b"};
  const int update_gap = 200;  // the paper's T
  std::printf("gradient all-reduce payload per rank per step (fp32), update_gap %d\n", update_gap);
  std::printf("%-6s %6s %12s %14s %12s %14s %10s\n", "preset", "rank", "full MiB", "projected MiB",
              "refresh MiB", "mean MiB/step", "full/mean");
  for (const std::string& name : presets) {
    const galore::ModelConfig model = galore::model_preset(name);
    const int rank = galore::paper_galore_rank(name);
    const Volume v = volume(model, rank);
    const double mean = (v.projected * (update_gap - 1) + v.full) / update_gap;
    std::printf("%-6s %6d %12.1f %14.1f %12.1f %14.1f %9.2fx\n", name.c_str(), rank, mib(v.full),
                mib(v.projected), mib(v.full), mib(mean), v.full / mean);
    table.add_row({name, std::to_string(rank), fmt::format("{:.1f}", mib(v.full)),
                   fmt::format("{:.1f}", mib(v.projected)), fmt::format("{:.1f}", mib(v.full)),
                   fmt::format("{:.1f}", mib(mean)), fmt::format("{:.2f}x", v.full / mean)});
  }
  if (!options.markdown.empty()) {
    galore::bench::MarkdownFragment f(
        "Data-parallel communication (issue: MPI data parallelism)",
        galore::bench::benchmark_command("build/benchmarks/dist/communication_bytes", quick));
    f.paragraph(fmt::format(
        "Gradient all-reduce payload per rank per step, fp32, GaLore rank as in the paper, "
        "update_gap {} (arithmetic from the shapes; \"mean\" counts one full-gradient refresh "
        "step per {}):",
        update_gap, update_gap));
    f.table(table);
    f.paragraph(
        "The embedding and the LM head (not projected) dominate what remains for the small "
        "presets.");
    f.write(options.markdown);
  }
  return 0;
}
