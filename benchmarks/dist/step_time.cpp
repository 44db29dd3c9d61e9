// Data-parallel step time with the gradient all-reduce blocking (after the backward pass) vs
// overlapped with the backward pass (non-blocking, bucketed), measured side by side in one run:
// the variants take turns step by step, each with its own model and optimizer, so that the
// machine's load drifts evenly over all of them. Started on one rank it times the plain
// single-process step, the reference of the np=1 vs np=2 comparison.
//
// The variants (the same global batch split over the ranks; AdamW, clipping at 1.0, so that
// every gradient is averaged in full; fp32 model):
//   local       each rank steps on its own micro-batch without averaging: not a valid
//               data-parallel step, the floor the two others are measured against
//   blocking    TrainStep with FullAveraging::overlap = false (average_bucketed after backward)
//   overlapped  TrainStep's default (BucketReducer: 25 MiB buckets started during the backward)
//
//   mpiexec -np 2 -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive step_time [options]
//   OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive step_time [options]            (np=1)
//     --quick       a tiny model, 3 timed steps (smoke test)
//     --per-layer   per-layer updates (one all-reduce per delivered gradient)
//     --steps N     timed steps per variant (default 12), after one warm-up step each
//     --bucket-mib M  standard mode's bucket size (default 25)
#include "galore/core/error.hpp"
#include "galore/dist/communicator.hpp"
#include "galore/optim/optimizer_config.hpp"
#include "galore/train/train_step.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using galore::ExecSpace;

struct Options {
  bool quick = false;
  bool per_layer = false;
  int steps = 12;
  galore::FullAveraging averaging;  // bucket size of both averaging variants
};

struct Shape {
  galore::ModelConfig model;
  int global_batch = 0;  // sequences per step, over all ranks
  int seq = 0;
};

// A model whose gradients (29.6 MB fp32) fill two 25 MiB buckets, stepped on few tokens, so that
// the all-reduce is a visible part of the step on this 2-core machine.
Shape benchmark_shape(bool quick) {
  Shape s;
  galore::ModelConfig& c = s.model;
  c.hidden_size = quick ? 32 : 256;
  c.intermediate_size = quick ? 64 : 688;
  c.num_attention_heads = 4;
  c.num_hidden_layers = quick ? 2 : 4;
  c.vocab_size = quick ? 512 : 8192;
  c.max_sequence_length = 64;
  s.global_batch = 4;
  s.seq = quick ? 16 : 64;
  return s;
}

// Rows [first, first + rows) of a fixed token table: the same data for every variant.
galore::MicroBatch table_rows(int first, int rows, int seq, int vocab) {
  using Tokens = Kokkos::View<std::int32_t**, Kokkos::LayoutRight, galore::MemSpace>;
  Tokens inputs("inputs", rows, seq), targets("targets", rows, seq);
  auto hi = Kokkos::create_mirror_view(inputs);
  auto ht = Kokkos::create_mirror_view(targets);
  for (int r = 0; r < rows; ++r) {
    for (int t = 0; t < seq; ++t) {
      const long row = first + r;
      hi(r, t) = static_cast<std::int32_t>((row * 7919 + t * 104729 + row * t) % vocab);
      ht(r, t) = static_cast<std::int32_t>((row * 6151 + t * 3571 + 17) % vocab);
    }
  }
  Kokkos::deep_copy(inputs, hi);
  Kokkos::deep_copy(targets, ht);
  return {inputs, targets};
}

struct Variant {
  std::string name;
  std::unique_ptr<galore::LlamaModel<float>> model;
  std::unique_ptr<galore::Optimizer<float>> optimizer;
  std::unique_ptr<galore::TrainStep<float>> step;
  std::vector<double> seconds;
};

Variant make_variant(const std::string& name, const Shape& shape, bool per_layer,
                     galore::ProcessGroup* group, galore::FullAveraging averaging) {
  Variant v;
  v.name = name;
  v.model = std::make_unique<galore::LlamaModel<float>>(shape.model, 1);
  galore::OptimizerConfig oc;
  oc.name = "adamw";
  oc.lr = 1e-3f;
  v.optimizer = std::make_unique<galore::Optimizer<float>>(oc, v.model->parameters());
  v.step = std::make_unique<galore::TrainStep<float>>(*v.model, *v.optimizer, per_layer, 1.0, group,
                                                      averaging);
  return v;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      o.quick = true;
      o.steps = 3;
    } else if (!std::strcmp(argv[i], "--per-layer")) {
      o.per_layer = true;
    } else if (!std::strcmp(argv[i], "--bucket-mib") && i + 1 < argc) {
      o.averaging.bucket_bytes = static_cast<std::size_t>(std::atof(argv[++i]) * 1048576.0);
    } else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) {
      o.steps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: step_time [--quick] [--per-layer] [--steps N] [--bucket-mib M]\n");
      std::exit(2);
    }
  }
  return o;
}

void run(const Options& options) {
  std::unique_ptr<galore::dist::Communicator> world;
  if (galore::dist::world_size() > 1) world = std::make_unique<galore::dist::Communicator>();
  const int rank = world ? world->rank() : 0;
  const int ranks = world ? world->size() : 1;
  const Shape shape = benchmark_shape(options.quick);
  if (shape.global_batch % ranks != 0) {
    throw galore::ConfigError(
        fmt::format("global batch {} is not a multiple of {} ranks", shape.global_batch, ranks));
  }
  const int rows = shape.global_batch / ranks;
  const std::vector<galore::MicroBatch> batch{
      table_rows(rank * rows, rows, shape.seq, shape.model.vocab_size)};

  std::vector<Variant> variants;
  galore::FullAveraging blocking = options.averaging;
  blocking.overlap = false;
  variants.push_back(make_variant(world ? "local (no averaging)" : "single process", shape,
                                  options.per_layer, nullptr, {}));
  if (world) {
    variants.push_back(make_variant("blocking", shape, options.per_layer, world.get(), blocking));
    variants.push_back(
        make_variant("overlapped", shape, options.per_layer, world.get(), options.averaging));
  }
  const ExecSpace space;
  for (int s = 0; s <= options.steps; ++s) {  // step 0: warm-up, not timed
    for (Variant& v : variants) {
      if (world) world->barrier();
      const auto start = std::chrono::steady_clock::now();
      v.step->run(space, s, 1e-3f, batch);
      space.fence();
      if (world) world->barrier();  // the slower rank's time
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      if (s > 0) v.seconds.push_back(elapsed.count());
    }
  }
  if (rank != 0) return;
  const double gradient_mb = 4.0 * static_cast<double>(shape.model.parameter_count()) / 1e6;
  std::printf(
      "np=%d, %s, %lld parameters (%.1f MB of fp32 gradients), %d x %d tokens per step, "
      "median of %d steps\n",
      ranks, options.per_layer ? "per-layer" : "standard",
      static_cast<long long>(shape.model.parameter_count()), gradient_mb, shape.global_batch,
      shape.seq, options.steps);
  const double floor = median(variants.front().seconds);
  std::printf("%-22s %10s %10s\n", "variant", "step ms", "vs first");
  for (const Variant& v : variants) {
    const double m = median(v.seconds);
    std::printf("%-22s %10.1f %9.3fx\n", v.name.c_str(), 1e3 * m, m / floor);
  }
  if (world) {
    const double b = median(variants[1].seconds), o = median(variants[2].seconds);
    std::printf(
        "averaging cost: blocking %.1f ms, overlapped %.1f ms per step (overlapped/blocking"
        " step time %.3f)\n",
        1e3 * (b - floor), 1e3 * (o - floor), o / b);
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  galore::dist::MpiSession mpi(argc, argv);
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    try {
      run(parse(argc, argv));
    } catch (const std::exception& e) {
      galore::dist::abort_all("step_time", e.what(), 1);
    }
  }
  return 0;
}
