// GEMM dispatch benchmark: achieved GFLOP/s of galore::gemm (fp32 and bf16 inputs) next to a direct
// cblas_sgemm on the same buffers (the dispatch layer's overhead) and the portable tiled Kokkos
// kernel (what a backend without a vendor BLAS gets), for the matrix shapes of LLaMA layers.
// Then a check of the randomized range finder that the GaLore projector builds on GEMM + QR.
//
//   gemm_benchmark [--quick] [--markdown FILE]
//     --quick: the two smallest shapes and a small range-finder check
//     --markdown FILE: also write the RESULTS.md section (benchmarks/run_benchmarks.py)
#include "benchmarks/common/markdown_fragment.hpp"
#include "benchmarks/gemm/fenced_timing.hpp"
#include "benchmarks/gemm/range_finder_report.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/rng.hpp"
#include "kernels/host/blas_gemm.hpp"

#include <cblas.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace {

using galore::Op;

// C[M x N] = A[M x K] * W[N x K]^T: a linear layer's forward with torch-layout weights.
struct Shape {
  int m, n, k;
  const char* layer;
};

// LLaMA-60M (hidden 512, MLP 1376), 130M (768, 2048) and 7B (4096, 11008) projections with 256
// or 512 tokens per micro-batch; 512x512x2048 is a weight gradient summed over 2048 tokens.
const std::vector<Shape> kShapes = {
    {256, 512, 512, "60M attention q/k/v/o"},    {256, 1376, 512, "60M MLP up/gate"},
    {512, 512, 2048, "60M q/k/v/o weight grad"}, {256, 2048, 768, "130M MLP up/gate"},
    {512, 4096, 4096, "7B attention q/k/v/o"},   {512, 11008, 4096, "7B MLP up/gate"}};

// The portable kernel runs at a few GFLOP/s on a CPU; beyond this much work per call it would
// dominate the run time, so it is skipped (and the table says so).
constexpr double kPortableMaxFlop = 20e9;
constexpr int kPortableMaxReps = 3;

constexpr bool kHostMemory =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, galore::MemSpace>::accessible;

// Unless OMP_WAIT_POLICY=passive, libgomp's threads spin for 4-8 ms after every OpenMP region
// (Kokkos kernels, the bf16 widening), and OpenBLAS's own pthreads started in that window share
// the cores with them. A pause before each timed call lets them sleep, so no variant pays for the
// one before it.
constexpr std::chrono::milliseconds kSettle{20};

template <class T>
galore::Matrix<T> random_matrix(int rows, int cols, std::uint64_t stream) {
  galore::Matrix<T> m(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("operand")), rows,
                      cols);
  galore::fill_uniform(galore::ExecSpace(), m, galore::CounterRng(1, stream), -1.0f, 1.0f);
  return m;
}

struct Row {
  double dispatch, cblas, bf16, portable;  // GFLOP/s; negative when not measured
};

// Many repetitions of the small shapes (milliseconds each), at least 5 of the big ones.
int repetitions(double flop, bool quick) {
  if (quick) return 5;
  return std::clamp(static_cast<int>(2e10 / flop), 5, 50);
}

// The variants run interleaved, one call each per round, so a burst of load from other processes
// on the shared machine hits all of them alike and their ratios stay meaningful.
Row measure(const Shape& s, bool quick) {
  const galore::ExecSpace space;
  const auto a = random_matrix<float>(s.m, s.k, 1);
  const auto w = random_matrix<float>(s.n, s.k, 2);
  const auto a16 = random_matrix<galore::bf16>(s.m, s.k, 1);
  const auto w16 = random_matrix<galore::bf16>(s.n, s.k, 2);
  galore::Matrix<float> c("c", s.m, s.n);
  const double flop = 2.0 * s.m * s.n * s.k;
  const int reps = repetitions(flop, quick);

  // An empty entry is not measured: cblas_sgemm needs host memory, and the portable kernel is
  // skipped on the biggest shapes.
  using Call = std::function<void()>;
  const std::vector<Call> variants = {
      [&] { galore::gemm(space, Op::N, Op::T, 1.0f, a, w, 0.0f, c); },
      kHostMemory ? Call([&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k,
                    w.data(), s.k, 0.0f, c.data(), s.n);
      })
                  : Call(),
      [&] { galore::gemm(space, Op::N, Op::T, 1.0f, a16, w16, 0.0f, c); },
      flop <= kPortableMaxFlop
          ? Call([&] { galore::gemm_portable(space, Op::N, Op::T, 1.0f, a, w, 0.0f, c); })
          : Call()};
  const std::vector<int> max_reps = {reps, reps, reps, std::min(reps, kPortableMaxReps)};
  std::vector<std::vector<double>> seconds(variants.size());
  for (const Call& call : variants) {
    if (call) galore::bench::fenced_seconds(call);
  }
  for (int rep = 0; rep < reps; ++rep) {
    for (std::size_t v = 0; v < variants.size(); ++v) {
      if (!variants[v] || rep >= max_reps[v]) continue;
      std::this_thread::sleep_for(kSettle);
      seconds[v].push_back(galore::bench::fenced_seconds(variants[v]));
    }
  }
  const auto rate = [&](std::size_t v) {
    return seconds[v].empty() ? -1.0 : flop / galore::bench::median(seconds[v]) * 1e-9;
  };
  return {rate(0), rate(1), rate(2), rate(3)};
}

void print_rate(double rate) {
  if (rate < 0) {
    std::printf(" %11s", "-");
  } else {
    std::printf(" %11.1f", rate);
  }
}

void print_ratio(double rate, double reference) {
  if (rate < 0 || reference < 0) {
    std::printf(" %9s", "-");
  } else {
    std::printf(" %9.3f", rate / reference);
  }
}

std::string rate_cell(double rate) { return rate < 0 ? "skipped" : fmt::format("{:.1f}", rate); }
std::string ratio_cell(double rate, double reference) {
  return rate < 0 || reference < 0 ? "-" : fmt::format("{:.3f}", rate / reference);
}

// The RESULTS.md section: the table, the ranges of the ratios, and what they mean.
void write_fragment(const galore::bench::BenchmarkOptions& options, const std::vector<Row>& rows,
                    const std::string& range_finder_summary) {
  galore::bench::MarkdownFragment f(
      "GEMM dispatch (issue: Foundation)",
      galore::bench::benchmark_command("build/benchmarks/gemm/gemm_benchmark", options.quick));
  f.paragraph(fmt::format(
      "C[M x N] = A[M x K] * W[N x K]^T (a linear layer's forward with torch-layout weights), "
      "median of {} calls after a warm-up (the portable kernel: at most {}), the variants "
      "interleaved call by call. \"dispatch / cblas\" is `galore::gemm` against `cblas_sgemm` on "
      "the same buffers; the bf16 path {}.",
      options.quick ? "5" : "5 to 50", kPortableMaxReps,
      galore::kernels::host::has_native_bf16_gemm()
          ? "calls OpenBLAS's native `cblas_sbgemm`"
          : "widens to fp32 and calls sgemm, because this OpenBLAS has no `cblas_sbgemm`"));
  galore::bench::MarkdownTable table(
      {"M x N x K", "layer", "galore fp32 GFLOP/s", "cblas fp32 GFLOP/s", "dispatch / cblas",
       "galore bf16 GFLOP/s", "portable GFLOP/s", "portable / cblas"});
  double dispatch_min = 1e30, dispatch_max = 0, portable_min = 1e30, portable_max = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Shape& s = kShapes[i];
    const Row& r = rows[i];
    table.add_row({fmt::format("{}x{}x{}", s.m, s.n, s.k), s.layer, rate_cell(r.dispatch),
                   rate_cell(r.cblas), ratio_cell(r.dispatch, r.cblas), rate_cell(r.bf16),
                   rate_cell(r.portable), ratio_cell(r.portable, r.cblas)});
    if (r.dispatch > 0 && r.cblas > 0) {
      dispatch_min = std::min(dispatch_min, r.dispatch / r.cblas);
      dispatch_max = std::max(dispatch_max, r.dispatch / r.cblas);
    }
    if (r.portable > 0 && r.cblas > 0) {
      portable_min = std::min(portable_min, r.portable / r.cblas);
      portable_max = std::max(portable_max, r.portable / r.cblas);
    }
  }
  f.table(table);
  std::string notes;
  if (dispatch_max > 0) {
    notes += fmt::format(
        "- The dispatch layer runs at {:.2f} to {:.2f} of direct OpenBLAS (1.00: no overhead; "
        "the spread is the machine's noise).\n",
        dispatch_min, dispatch_max);
  }
  if (portable_max > 0) {
    notes += fmt::format(
        "- The portable tiled Kokkos kernel reaches {:.0f}% to {:.0f}% of OpenBLAS on this CPU (it "
        "exists for backends without a vendor BLAS); it is skipped above {:.0f} GFLOP per call to "
        "keep the run short.\n",
        100 * portable_min, 100 * portable_max, kPortableMaxFlop * 1e-9);
  }
  notes += "- " + range_finder_summary + "\n";
  notes +=
      "- `OMP_WAIT_POLICY=passive` must be in the environment (libgomp reads it when it loads; "
      "`setenv` in `main` is too late): with libgomp's spinning, the bf16 widening's OpenMP "
      "threads take the cores from OpenBLAS's threads.";
  f.paragraph(notes);
  f.write(options.markdown);
}

}  // namespace

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  const galore::bench::BenchmarkOptions options = galore::bench::parse_benchmark_options(
      argc, argv, "gemm_benchmark [--quick] [--markdown FILE]");
  const bool quick = options.quick;
  const std::size_t shape_count = quick ? 2 : kShapes.size();
  const char* omp_threads = std::getenv("OMP_NUM_THREADS");
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");

  std::printf(
      "GEMM dispatch benchmark (%s): %s with %d threads (OMP_NUM_THREADS=%s, OMP_WAIT_POLICY=%s)\n",
      quick ? "quick" : "full", galore::ExecSpace::name(), galore::ExecSpace().concurrency(),
      omp_threads ? omp_threads : "unset", wait_policy ? wait_policy : "unset");
  if (!wait_policy || std::strcmp(wait_policy, "passive") != 0) {
    std::printf(
        "note: without OMP_WAIT_POLICY=passive (read when libgomp loads, so it must be set\n"
        "before the program starts) spinning OpenMP threads slow OpenBLAS calls that\n"
        "follow OpenMP work, the bf16 path's own widening among them\n");
  }
  std::printf(
      "C[M x N] = A[M x K] * W[N x K]^T (a linear layer's forward), fp32 accumulation;\n"
      "GFLOP/s = 2MNK / median of %s timed calls after a warm-up (portable: at most %d),\n"
      "the variants interleaved call by call.\nbf16 path: %s\n\n",
      quick ? "5" : "5 to 50 (fewer for bigger shapes)", kPortableMaxReps,
      galore::kernels::host::has_native_bf16_gemm()
          ? "native cblas_sbgemm"
          : "no cblas_sbgemm in this OpenBLAS: operands widened to fp32, then sgemm");
  std::printf("%-17s %-26s %11s %11s %9s %11s %11s %9s\n", "M x N x K", "layer", "galore fp32",
              "cblas fp32", "dispatch", "galore bf16", "portable", "portable");
  std::printf("%-17s %-26s %11s %11s %9s %11s %11s %9s\n", "", "", "GFLOP/s", "GFLOP/s", "/ cblas",
              "GFLOP/s", "GFLOP/s", "/ cblas");
  std::vector<Row> rows;
  for (std::size_t i = 0; i < shape_count; ++i) {
    const Shape& s = kShapes[i];
    const Row r = measure(s, quick);
    rows.push_back(r);
    char shape[32];
    std::snprintf(shape, sizeof shape, "%dx%dx%d", s.m, s.n, s.k);
    std::printf("%-17s %-26s", shape, s.layer);
    print_rate(r.dispatch);
    print_rate(r.cblas);
    print_ratio(r.dispatch, r.cblas);
    print_rate(r.bf16);
    print_rate(r.portable);
    print_ratio(r.portable, r.cblas);
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf(
      "(-: not measured. The portable kernel is skipped above %.0f GFLOP per call to bound\n"
      "the run time; direct cblas_sgemm needs host memory.)\n",
      kPortableMaxFlop * 1e-9);
  std::printf("\n");
  const std::string range_finder_summary = galore::bench::print_range_finder_report(quick);
  if (!options.markdown.empty()) write_fragment(options, rows, range_finder_summary);
  return 0;
}
