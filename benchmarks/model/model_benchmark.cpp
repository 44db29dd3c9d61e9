// Forward + backward throughput of LlamaModel: tokens/s and achieved FLOP/s for the 20m and 60m
// presets in fp32 and bf16, as a fraction of the fp32 GEMM rate galore::gemm reaches on a
// 512x2048x2048 product in the same run (the practical peak of this machine for the model's
// dominant operation).
//
// Model FLOPs per step (PaLM, Chowdhery et al. 2022, App. B): 6 * N * tokens + 12 * L * h * S *
// tokens, where N counts the parameters that take part in matrix products (all but the input
// embedding table, a lookup) and the second term is attention's QK^T and PV, forward and backward,
// counted without the causal saving. Recomputation (flash-attention backward, checkpointing) is
// not counted: the figure is model FLOPs utilisation, not hardware FLOPs.
//
//   OMP_WAIT_POLICY=passive model_benchmark [--quick] [--markdown FILE]
//     --quick: the 20m preset at seq 64, one repetition (smoke test). The passive wait policy keeps
//     idle Kokkos OpenMP threads from spinning on the cores OpenBLAS's pthreads need.
//     --markdown FILE: also write the RESULTS.md section (benchmarks/run_benchmarks.py)
#include "benchmarks/common/markdown_fragment.hpp"
#include "benchmarks/gemm/fenced_timing.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/rng.hpp"
#include "galore/model/llama_model.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using galore::bf16;
using galore::ExecSpace;
using galore::GradientMode;
using galore::LlamaModel;
using galore::ModelConfig;

struct Run {
  const char* preset;
  int batch, seq;
};

// The fp32 GEMM whose rate is the reference: C[512x2048] = A[512x2048] B[2048x2048]^T.
class ReferenceGemm {
 public:
  ReferenceGemm() : a_("a", kM, kK), b_("b", kN, kK), c_("c", kM, kN) {
    galore::fill_uniform(ExecSpace(), a_, galore::CounterRng(1, 0), -1.0f, 1.0f);
    galore::fill_uniform(ExecSpace(), b_, galore::CounterRng(1, 1), -1.0f, 1.0f);
  }
  void operator()() const {
    galore::gemm(ExecSpace(), galore::Op::N, galore::Op::T, 1.0f, a_, b_, 0.0f, c_);
  }
  static double flop() { return 2.0 * kM * kN * kK; }

 private:
  static constexpr int kM = 512, kN = 2048, kK = 2048;
  galore::Matrix<float> a_, b_, c_;
};

double model_flops_per_token(const ModelConfig& c, int seq) {
  const double matmul_params =
      static_cast<double>(c.parameter_count()) - static_cast<double>(c.vocab_size) * c.hidden_size;
  return 6.0 * matmul_params + 12.0 * c.num_hidden_layers * c.hidden_size * seq;
}

// Random token ids in [0, vocab), targets the next id: the throughput does not depend on them.
galore::TokenMatrix random_tokens(int batch, int seq, int vocab, std::uint64_t stream) {
  Kokkos::View<std::int32_t**, Kokkos::LayoutRight, galore::MemSpace> ids("ids", batch, seq);
  const galore::CounterRng rng(7, stream);
  Kokkos::parallel_for(
      "random_tokens", Kokkos::RangePolicy<ExecSpace>(0, batch * seq), KOKKOS_LAMBDA(const int t) {
        ids(t / seq, t % seq) = static_cast<std::int32_t>(rng.uniform(t) * vocab) % vocab;
      });
  return ids;
}

// Alternates model steps with reference GEMMs, so that each row's fraction of peak compares two
// medians measured over the same stretch of time on this shared, noisy machine.
// Prints the row and returns it as Markdown table cells.
template <class T>
std::vector<std::string> benchmark_model(const Run& run, int reps, const ReferenceGemm& gemm) {
  const ModelConfig config = galore::model_preset(run.preset);
  LlamaModel<T> model(config, 1);
  const auto inputs = random_tokens(run.batch, run.seq, config.vocab_size, 0);
  const auto targets = random_tokens(run.batch, run.seq, config.vocab_size, 1);
  float loss = 0.0f;
  const auto step = [&] {
    loss = model.forward_backward(ExecSpace(), inputs, targets, 1.0f, GradientMode::Accumulate);
  };
  step();  // warm-up: allocates the gradients
  gemm();
  model.memory_meter().reset_peak();
  std::vector<double> step_seconds, gemm_seconds;
  for (int r = 0; r < reps; ++r) {
    gemm_seconds.push_back(galore::bench::fenced_seconds(gemm));
    step_seconds.push_back(galore::bench::fenced_seconds(step));
  }
  const double seconds = galore::bench::median(step_seconds);
  const double gemm_rate = ReferenceGemm::flop() / galore::bench::median(gemm_seconds);
  const double tokens = static_cast<double>(run.batch) * run.seq;
  const double flops = model_flops_per_token(config, run.seq) * tokens / seconds;
  std::printf("%-5s %-9s %5d x %-4d %8.3f %9.0f %9.1f %9.1f %8.1f%% %9.0f %8.3f\n", run.preset,
              galore::dtype_name<T>(), run.batch, run.seq, seconds, tokens / seconds, flops / 1e9,
              gemm_rate / 1e9, 100.0 * flops / gemm_rate,
              model.memory_meter().peak_bytes() / 1048576.0, loss);
  return {run.preset,
          galore::dtype_name<T>(),
          fmt::format("{} x {}", run.batch, run.seq),
          fmt::format("{:.3f}", seconds),
          fmt::format("{:.0f}", tokens / seconds),
          fmt::format("{:.1f}", flops / 1e9),
          fmt::format("{:.1f}", gemm_rate / 1e9),
          fmt::format("{:.1f}%", 100.0 * flops / gemm_rate),
          fmt::format("{:.0f}", model.memory_meter().peak_bytes() / 1048576.0)};
}

void write_fragment(const galore::bench::BenchmarkOptions& options, int reps,
                    const galore::bench::MarkdownTable& table) {
  galore::bench::MarkdownFragment f(
      "Model forward + backward (issue: LLaMA transformer)",
      galore::bench::benchmark_command("build/benchmarks/model/model_benchmark", options.quick));
  f.paragraph(fmt::format(
      "One `forward_backward` (Accumulate mode, loss chunk 256 tokens, no checkpointing) per "
      "step, median of {} steps after a warm-up. \"GEMM GF/s\" is fp32 `galore::gemm` on a "
      "512x2048x2048 product, timed alternately with the steps of the same row; \"of GEMM\" is "
      "the model's achieved FLOP/s divided by it. Model FLOPs per token = 6 x (parameters - vocab "
      "x hidden) + 12 x layers x hidden x seq (PaLM's formula: the input embedding is a lookup; "
      "attention counted without the causal saving; the flash-attention recomputation is not "
      "counted). \"peak MiB\" is the model's own allocations (weights, gradients, activations, "
      "workspace) as its AllocationMeter measured them.",
      reps));
  f.table(table);
  f.paragraph(
      "- bf16 runs slower than fp32 where OpenBLAS has no `cblas_sbgemm` (Debian's 0.3.21): every "
      "bf16 GEMM then widens its operands to fp32 first (the 32000-row LM head three times per "
      "chunk); bf16 still saves memory (peak MiB).\n"
      "- `OMP_WAIT_POLICY=passive` matters: with libgomp's default spinning, the idle Kokkos "
      "OpenMP threads compete with OpenBLAS's pthreads after every kernel (compare "
      "`OMP_WAIT_POLICY=active model_benchmark --quick`).");
  f.write(options.markdown);
}

}  // namespace

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  const galore::bench::BenchmarkOptions options = galore::bench::parse_benchmark_options(
      argc, argv, "model_benchmark [--quick] [--markdown FILE]");
  const bool quick = options.quick;
  const int reps = quick ? 1 : 5;
  const std::vector<Run> runs =
      quick ? std::vector<Run>{{"20m", 1, 64}} : std::vector<Run>{{"20m", 4, 256}, {"60m", 2, 256}};

  const ReferenceGemm gemm;
  std::printf("model FLOPs/token = 6 * (params - vocab*hidden) + 12 * layers * hidden * seq\n");
  std::printf("peak = fp32 galore::gemm 512x2048x2048, timed alternately with the model steps\n");
  std::printf("median of %d repetitions after a warm-up\n\n", reps);
  std::printf("%-5s %-9s %12s %8s %9s %9s %9s %9s %9s %8s\n", "model", "dtype", "batch x seq",
              "s/step", "tokens/s", "GFLOP/s", "GEMM GF/s", "of GEMM", "peak MiB", "loss");
  galore::bench::MarkdownTable table({"model", "dtype", "batch x seq", "s/step", "tokens/s",
                                      "GFLOP/s", "GEMM GF/s", "of GEMM", "peak MiB"});
  for (const Run& run : runs) {
    table.add_row(benchmark_model<float>(run, reps, gemm));
    table.add_row(benchmark_model<bf16>(run, reps, gemm));
  }
  if (!options.markdown.empty()) write_fragment(options, reps, table);
  return 0;
}
