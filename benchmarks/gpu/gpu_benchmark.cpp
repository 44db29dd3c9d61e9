// GPU benchmark of the CUDA kernels (docs/cuda.md). Every rate is set next to a peak measured in
// the same run on the same card: cuBLASLt's bf16 GEMM on a large square problem (TFLOP/s) and a
// device-to-device copy (GB/s, bytes read + written). Sections: LLaMA-shaped GEMMs, fused
// attention forward/backward, RMSNorm, SwiGLU, chunked LM-head cross-entropy, the fused 8-bit
// Adam and GaLore updates, and the cuSOLVER projector refresh. All buffers come from one
// DeviceArena, whose peak is reported.
//
//   gpu_benchmark [--quick] [--json PATH]
//
// --quick shrinks every problem (seconds); without a CUDA device the program exits 77 (skipped).
#include "benchmarks/gpu/benchmark_report.hpp"
#include "benchmarks/gpu/gpu_timer.hpp"
#include "kernels/cuda/adam8bit.hpp"
#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/blas_context.hpp"
#include "kernels/cuda/cross_entropy.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device_arena.hpp"
#include "kernels/cuda/galore_update.hpp"
#include "kernels/cuda/gemm.hpp"
#include "kernels/cuda/projector_refresh.hpp"
#include "kernels/cuda/random_fill.hpp"
#include "kernels/cuda/rms_norm.hpp"
#include "kernels/cuda/swiglu.hpp"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

using namespace galore::kernels::cuda;
using bench::BenchmarkReport;
using bench::BenchmarkRow;

namespace {

constexpr int kSkipped = 77;

struct Context {
  bool quick;
  int warmup;
  int repeats;
  cudaStream_t stream;
  DeviceArena& arena;
  BlasContext& blas;
  BenchmarkReport& report;
  double gemm_peak_tflops = 0.0;
  double copy_peak_gbs = 0.0;

  template <class Operation>
  double time(Operation&& operation) {
    return bench::median_ms(stream, warmup, repeats, operation);
  }
  // Rows for a FLOP-bound and a memory-bound kernel, with the fraction of the measured peak.
  void flops(const std::string& section, const std::string& name, double ms, double flop) {
    const double tflops = flop / (ms * 1e9);
    report.add({section, name, ms, tflops, "TFLOP/s",
                gemm_peak_tflops > 0.0 ? tflops / gemm_peak_tflops : 0.0});
  }
  void bytes(const std::string& section, const std::string& name, double ms, double moved) {
    const double gbs = moved / (ms * 1e6);
    report.add({section, name, ms, gbs, "GB/s", copy_peak_gbs > 0.0 ? gbs / copy_peak_gbs : 0.0});
  }
  template <class T>
  T* random(std::size_t n, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    T* x = arena.allocate_array<T>(n);
    fill_uniform(x, n, seed, lo, hi, stream);
    return x;
  }
};

std::string dims(std::initializer_list<long long> values, const char* separator = "x") {
  std::string out;
  for (const long long v : values) out += (out.empty() ? "" : separator) + std::to_string(v);
  return out;
}

void peaks(Context& c) {
  DeviceArena::Scope scope(c.arena);
  const int n = c.quick ? 2048 : 8192;
  const std::size_t elements = static_cast<std::size_t>(n) * n;
  const Bf16Word* a = c.random<Bf16Word>(elements, 1);
  const Bf16Word* b = c.random<Bf16Word>(elements, 2);
  Bf16Word* d = c.arena.allocate_array<Bf16Word>(elements);
  const double gemm_ms =
      c.time([&] { gemm(c.blas, Op::N, Op::N, n, n, n, 1.0f, a, n, b, n, 0.0f, d, n); });
  c.gemm_peak_tflops = 2.0 * n * static_cast<double>(n) * n / (gemm_ms * 1e9);
  c.report.add({"peak", "cuBLASLt bf16 GEMM " + dims({n, n, n}) + " (the TFLOP/s peak)", gemm_ms,
                c.gemm_peak_tflops, "TFLOP/s", 1.0});

  const std::size_t copy_bytes = (c.quick ? std::size_t{256} : std::size_t{1024}) << 20;
  void* src = c.arena.allocate(copy_bytes);
  void* dst = c.arena.allocate(copy_bytes);
  const double copy_ms = c.time([&] {
    check_cuda(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice, c.stream),
               "cudaMemcpyAsync");
  });
  c.copy_peak_gbs = 2.0 * static_cast<double>(copy_bytes) / (copy_ms * 1e6);
  c.report.add({"peak",
                "device-to-device copy " + std::to_string(copy_bytes >> 20) +
                    " MiB (the GB/s peak, read + write)",
                copy_ms, c.copy_peak_gbs, "GB/s", 1.0});
}

// The GEMMs of one LLaMA decoder layer at hidden 2048, intermediate 5461 (the 1B model), with
// torch's [out, in] weights (op_b = T), and one weight-gradient GEMM into fp32.
void model_gemms(Context& c) {
  DeviceArena::Scope scope(c.arena);
  const int tokens = c.quick ? 512 : 4096;
  const int h = 2048;
  const int inter = 5461;
  const Bf16Word* x = c.random<Bf16Word>(static_cast<std::size_t>(tokens) * inter, 3);
  const Bf16Word* w = c.random<Bf16Word>(static_cast<std::size_t>(2 * inter) * h, 4, -0.02f, 0.02f);
  Bf16Word* y = c.arena.allocate_array<Bf16Word>(static_cast<std::size_t>(tokens) * 2 * inter);
  float* grad = c.random<float>(static_cast<std::size_t>(3 * h) * h, 5);
  struct Shape {
    const char* name;
    int n, k;
  };
  for (const Shape s :
       {Shape{"qkv projection", 3 * h, h}, Shape{"output projection", h, h},
        Shape{"gate+up projection", 2 * inter, h}, Shape{"down projection", h, inter}}) {
    const double ms = c.time(
        [&] { gemm(c.blas, Op::N, Op::T, tokens, s.n, s.k, 1.0f, x, s.k, w, s.k, 0.0f, y, s.n); });
    c.flops("gemm", std::string(s.name) + " " + dims({tokens, s.n, s.k}), ms,
            2.0 * tokens * static_cast<double>(s.n) * s.k);
  }
  const double ms = c.time(
      [&] { gemm(c.blas, Op::T, Op::N, 3 * h, h, tokens, 1.0f, y, 3 * h, x, h, 1.0f, grad, h); });
  c.flops("gemm", "qkv weight gradient (fp32 += dY^T X) " + dims({3 * h, h, tokens}), ms,
          2.0 * 3 * h * static_cast<double>(h) * tokens);
}

void attention(Context& c) {
  struct Config {
    const char* model;
    int batch, seq, heads, head_dim;
  };
  const std::vector<Config> configs =
      c.quick ? std::vector<Config>{{"1B-like", 1, 512, 8, 64}, {"7B-like", 1, 512, 8, 128}}
              : std::vector<Config>{{"1B", 4, 2048, 32, 64}, {"7B", 2, 2048, 32, 128}};
  for (const Config& cfg : configs) {
    DeviceArena::Scope scope(c.arena);
    const AttentionShape s{cfg.batch, cfg.seq, cfg.heads, cfg.head_dim, 10000.0f};
    const int width = cfg.heads * cfg.head_dim;
    const std::size_t n = static_cast<std::size_t>(cfg.batch) * cfg.seq * width;
    const Bf16Word* qkv = c.random<Bf16Word>(3 * n, 6);
    const Bf16Word* d_out = c.random<Bf16Word>(n, 7);
    Bf16Word* out = c.arena.allocate_array<Bf16Word>(n);
    Bf16Word* grads = c.arena.allocate_array<Bf16Word>(3 * n);
    const std::size_t rows = static_cast<std::size_t>(cfg.batch) * cfg.heads * cfg.seq;
    float* lse = c.arena.allocate_array<float>(rows);
    float* row_term = c.arena.allocate_array<float>(rows);
    const int ld = 3 * width;  // q, k, v inside one fused projection
    const double forward_ms = c.time([&] {
      attention_forward<Bf16Word>(s, qkv, qkv + width, qkv + 2 * width, ld, out, width, lse,
                                  c.stream);
    });
    const double backward_ms = c.time([&] {
      attention_backward<Bf16Word>(s, qkv, qkv + width, qkv + 2 * width, ld, out, d_out, width, lse,
                                   grads, grads + width, grads + 2 * width, ld, row_term, c.stream);
    });
    // Causal: half of the seq x seq scores; forward QK^T and PV, backward five such products.
    const double half_scores = 0.5 * cfg.batch * cfg.heads * static_cast<double>(cfg.seq) * cfg.seq;
    const std::string shape = std::string(cfg.model) + " b" + std::to_string(cfg.batch) + " T" +
                              std::to_string(cfg.seq) + " h" + std::to_string(cfg.heads) + " d" +
                              std::to_string(cfg.head_dim);
    c.flops("attention", "forward " + shape, forward_ms, 2.0 * 2.0 * half_scores * cfg.head_dim);
    c.flops("attention", "backward " + shape, backward_ms, 5.0 * 2.0 * half_scores * cfg.head_dim);
  }
}

void norm_and_gate(Context& c) {
  DeviceArena::Scope scope(c.arena);
  const int rows = c.quick ? 512 : 4096;
  const int h = 2048;
  const int inter = 5461;
  const std::size_t n = static_cast<std::size_t>(rows) * h;
  const Bf16Word* x = c.random<Bf16Word>(n, 8);
  const Bf16Word* w = c.random<Bf16Word>(h, 9, 0.5f, 1.5f);
  const Bf16Word* dy = c.random<Bf16Word>(n, 10);
  Bf16Word* y = c.arena.allocate_array<Bf16Word>(n);
  Bf16Word* dx = c.random<Bf16Word>(n, 11);
  float* rstd = c.arena.allocate_array<float>(rows);
  float* dw = c.random<float>(h, 12);
  const double fwd =
      c.time([&] { rms_norm_forward<Bf16Word>(rows, h, 1e-5f, x, w, y, rstd, c.stream); });
  const double bwd =
      c.time([&] { rms_norm_backward<Bf16Word>(rows, h, x, w, rstd, dy, dx, dw, c.stream); });
  const std::string rms_shape = dims({rows, h});
  c.bytes("rms_norm", "forward bf16 " + rms_shape, fwd, 2.0 * 2.0 * n);
  c.bytes("rms_norm", "backward bf16 " + rms_shape + " (dx += ..., dw +=)", bwd, 6.0 * 2.0 * n);

  const std::size_t m = static_cast<std::size_t>(rows) * inter;
  const Bf16Word* gate_up = c.random<Bf16Word>(2 * m, 13, -4.0f, 4.0f);
  Bf16Word* out = c.arena.allocate_array<Bf16Word>(m);
  Bf16Word* d_gate_up = c.arena.allocate_array<Bf16Word>(2 * m);
  Bf16Word* d_out = c.random<Bf16Word>(m, 14);
  const double gate_fwd = c.time([&] {
    swiglu_forward<Bf16Word>(rows, inter, gate_up, gate_up + inter, 2 * inter, out, inter,
                             c.stream);
  });
  const double gate_bwd = c.time([&] {
    swiglu_backward<Bf16Word>(rows, inter, gate_up, gate_up + inter, 2 * inter, d_out, inter,
                              d_gate_up, d_gate_up + inter, c.stream);
  });
  const std::string gate_shape = dims({rows, inter});
  c.bytes("swiglu", "forward bf16 " + gate_shape, gate_fwd, 3.0 * 2.0 * m);
  c.bytes("swiglu", "backward bf16 " + gate_shape, gate_bwd, 5.0 * 2.0 * m);
}

void cross_entropy(Context& c) {
  DeviceArena::Scope scope(c.arena);
  const LmHeadShape s{c.quick ? 512 : 4096, 2048, 32000, c.quick ? 256 : 1024};
  const Bf16Word* hidden = c.random<Bf16Word>(static_cast<std::size_t>(s.tokens) * s.hidden, 15);
  const Bf16Word* weight =
      c.random<Bf16Word>(static_cast<std::size_t>(s.vocab) * s.hidden, 16, -0.02f, 0.02f);
  std::vector<std::int32_t> host_targets(s.tokens);
  for (int t = 0; t < s.tokens; ++t) host_targets[t] = (t * 7919) % s.vocab;
  auto* targets = c.arena.allocate_array<std::int32_t>(s.tokens);
  check_cuda(cudaMemcpy(targets, host_targets.data(), s.tokens * sizeof(std::int32_t),
                        cudaMemcpyHostToDevice),
             "cudaMemcpy");
  Bf16Word* d_hidden =
      c.arena.allocate_array<Bf16Word>(static_cast<std::size_t>(s.tokens) * s.hidden);
  float* d_weight = c.random<float>(static_cast<std::size_t>(s.vocab) * s.hidden, 17);
  void* workspace = c.arena.allocate(lm_head_cross_entropy_workspace_bytes<Bf16Word>(s, true));
  float* loss = c.arena.allocate_array<float>(1);
  const double ms = c.time([&] {
    lm_head_cross_entropy<Bf16Word>(c.blas, s, hidden, weight, targets, 1.0f, d_hidden, d_weight,
                                    workspace, loss);
  });
  c.flops("lm_head",
          "cross-entropy fwd+bwd " + dims({s.tokens, s.hidden, s.vocab}) + " chunk " +
              std::to_string(s.chunk),
          ms, 3.0 * 2.0 * s.tokens * static_cast<double>(s.vocab) * s.hidden);
}

void optimizers(Context& c) {
  constexpr int kBlock = 2048;
  {
    DeviceArena::Scope scope(c.arena);
    const std::int64_t n = c.quick ? (std::int64_t{4} << 20) : (std::int64_t{64} << 20);
    const float* grad = c.random<float>(n, 18);
    Bf16Word* weight = c.random<Bf16Word>(n, 19);
    const std::size_t blocks = static_cast<std::size_t>((n + kBlock - 1) / kBlock);
    QuantizedState m{c.arena.allocate_array<std::uint8_t>(n),
                     c.arena.allocate_array<float>(blocks)};
    QuantizedState v{c.arena.allocate_array<std::uint8_t>(n),
                     c.arena.allocate_array<float>(blocks)};
    adam8bit_init_state(n, kBlock, m, v, c.stream);
    Adam8bitStep step{0.9f, 0.999f, 1e-6f, 1e-4f, 0.0f, 1};
    const double ms = c.time([&] {
      adam8bit_update<Bf16Word>(n, kBlock, step, grad, m, v, weight, nullptr, c.stream);
      ++step.step;
    });
    // grad fp32 read, bf16 weight read + write, two 8-bit codes read + write.
    c.bytes("optimizer",
            "8-bit Adam full-rank update, bf16, " + std::to_string(n >> 20) + "M params", ms,
            12.0 * static_cast<double>(n));
  }
  {
    DeviceArena::Scope scope(c.arena);
    // The 7B gate projection [11008 x 4096] at rank 1024 (smaller with --quick).
    const GaLoreShape s = c.quick ? GaLoreShape{2752, 1024, 256, ProjectionSide::Right}
                                  : GaLoreShape{11008, 4096, 1024, ProjectionSide::Right};
    const std::size_t n = static_cast<std::size_t>(s.rows) * s.cols;
    const std::size_t low_n = static_cast<std::size_t>(s.low_rank_rows()) * s.low_rank_cols();
    const std::size_t blocks = (low_n + kBlock - 1) / kBlock;
    GaLoreTensors<Bf16Word> t{
        c.random<Bf16Word>(n, 20),
        c.random<float>(n, 21),
        c.random<Bf16Word>(static_cast<std::size_t>(s.rank) * s.cols, 22, -0.03f, 0.03f),
        {c.arena.allocate_array<std::uint8_t>(low_n), c.arena.allocate_array<float>(blocks)},
        {c.arena.allocate_array<std::uint8_t>(low_n), c.arena.allocate_array<float>(blocks)}};
    adam8bit_init_state(static_cast<std::int64_t>(low_n), kBlock, t.exp_avg, t.exp_avg_sq,
                        c.stream);
    void* workspace = c.arena.allocate(galore_adam8bit_workspace_bytes(s, sizeof(Bf16Word)));
    Adam8bitStep step{0.9f, 0.999f, 1e-6f, 1e-4f, 0.0f, 1};
    const double ms = c.time([&] {
      galore_adam8bit_update<Bf16Word>(c.blas, s, step, 0.25f, kBlock, t, nullptr, workspace);
      ++step.step;
    });
    // Full-size traffic: the fp32 gradient read once, the bf16 weight read and written once.
    c.bytes(
        "optimizer",
        "GaLore 8-bit Adam update " + dims({s.rows, s.cols}) + " rank " + std::to_string(s.rank),
        ms, 8.0 * static_cast<double>(n));
  }
}

void projector_refresh(Context& c) {
  struct Case {
    RefreshMethod method;
    GaLoreShape shape;
  };
  const std::vector<Case> cases =
      c.quick
          ? std::vector<Case>{{RefreshMethod::Svd, {256, 256, 32, ProjectionSide::Left}},
                              {RefreshMethod::Randomized, {1024, 512, 64, ProjectionSide::Right}}}
          : std::vector<Case>{
                {RefreshMethod::Svd, {1024, 1024, 128, ProjectionSide::Left}},
                {RefreshMethod::Randomized, {4096, 4096, 512, ProjectionSide::Left}},
                {RefreshMethod::Randomized, {11008, 4096, 1024, ProjectionSide::Right}}};
  for (const Case& rc : cases) {
    DeviceArena::Scope scope(c.arena);
    const GaLoreShape& s = rc.shape;
    const float* grad = c.random<float>(static_cast<std::size_t>(s.rows) * s.cols, 23);
    const std::size_t basis =
        static_cast<std::size_t>(s.rank) * (s.side == ProjectionSide::Left ? s.rows : s.cols);
    Bf16Word* projector = c.arena.allocate_array<Bf16Word>(basis);
    RefreshOptions options;
    options.method = rc.method;
    ProjectorRefresher refresher(options);
    const int warmup = 1;
    const int repeats = c.quick ? 2 : 3;
    const double ms = bench::median_ms(c.stream, warmup, repeats, [&] {
      refresher.enqueue<Bf16Word>(grad, s, projector, c.stream);
      refresher.wait(c.stream);  // the timed stream waits for the refresh stream
    });
    c.report.add({"refresh",
                  std::string(rc.method == RefreshMethod::Svd ? "gesvdj " : "randomized ") +
                      dims({s.rows, s.cols}) + " rank " + std::to_string(s.rank),
                  ms, 0.0, "", 0.0});
    if (refresher.rejected_refreshes() != 0)
      throw CudaError("projector refresh rejected its input");
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  bool quick = false;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--json PATH]\n", argv[0]);
      return 2;
    }
  }
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: gpu_benchmark skipped (%s)\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "no device found");
    return kSkipped;
  }
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  BenchmarkReport report;
  report.note("device", std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                            std::to_string(prop.minor) + ", " +
                            std::to_string(prop.totalGlobalMem >> 20) + " MiB)");
  report.note("mode", quick ? "quick" : "full");

  int failures = 0;
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  {
    const std::size_t capacity = (quick ? std::size_t{2} : std::size_t{6}) << 30;
    DeviceArena arena(capacity);
    BlasContext blas(stream);
    Context c{quick, quick ? 1 : 3, quick ? 3 : 10, stream, arena, blas, report};
    const std::vector<std::pair<const char*, std::function<void(Context&)>>> sections{
        {"peak", peaks},
        {"gemm", model_gemms},
        {"attention", attention},
        {"rms_norm+swiglu", norm_and_gate},
        {"lm_head", cross_entropy},
        {"optimizer", optimizers},
        {"refresh", projector_refresh}};
    for (const auto& [name, run] : sections) {
      try {
        run(c);
      } catch (const std::exception& e) {
        ++failures;
        report.note(std::string("FAILED ") + name, e.what());
        cudaGetLastError();  // a launch error must not poison the next section
      }
    }
    check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    report.note("arena peak", std::to_string(arena.peak_bytes() >> 20) + " MiB of " +
                                  std::to_string(capacity >> 20) + " MiB");
  }
  check_cuda(cudaStreamDestroy(stream), "cudaStreamDestroy");
  if (!json_path.empty()) report.write_json(json_path);
  return failures == 0 ? 0 : 1;
}
