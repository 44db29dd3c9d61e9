// Shared by the checkpoint tests: a tiny model + optimizer trained in-process on random gradients
// (so every state tensor holds non-trivial values), exact snapshots of its state, and the
// dataset-by-dataset contents of checkpoint files.
#pragma once

#include "catch.hpp"

#include "galore/core/rng.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/optim/optimizer.hpp"
#include "galore/train/training_run.hpp"
#include "io/checkpoint/checkpoint.hpp"
#include "io/checkpoint/hdf5_file.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace checkpoint_test {

using galore::checkpoint::Hdf5File;
using Bytes = std::vector<unsigned char>;
using Snapshot = std::map<std::string, Bytes>;

inline galore::ModelConfig tiny_model() {
  galore::ModelConfig m;
  m.hidden_size = 32;
  m.intermediate_size = 64;
  m.num_attention_heads = 2;
  m.num_hidden_layers = 2;
  m.vocab_size = 64;
  m.max_sequence_length = 32;
  return m;
}

// A RunConfig and the OptimizerConfig galore-train derives from it (the fields these tests vary).
inline galore::config::RunConfig run_config(const std::string& optimizer, bool bf16) {
  galore::config::RunConfig c;
  c.model.dtype = bf16 ? "bf16" : "fp32";
  c.optimizer.name = optimizer;
  c.optimizer.rank = 8;
  c.optimizer.update_gap = 2;
  c.optimizer.block_size = 256;
  c.run.steps = 10;
  c.run.seed = 5;
  return c;
}

// Model, optimizer and the TrainingState view of them.
template <class T>
struct Trainee {
  galore::config::RunConfig config;
  galore::ModelConfig model_config;
  galore::LlamaModel<T> model;
  galore::Optimizer<T> optimizer;
  galore::checkpoint::TrainingState<T> state;

  Trainee(const galore::config::RunConfig& c, const galore::ModelConfig& m, std::uint64_t seed)
      : config(c),
        model_config(m),
        model(model_config, seed),
        optimizer(galore::optimizer_config(config), model.parameters()),
        state{config, model_config, model.parameters(), optimizer} {}

  // `steps` optimizer steps on random gradients (a different draw per step).
  void train(int steps) {
    const galore::ExecSpace space;
    for (int s = 0; s < steps; ++s) {
      std::uint64_t stream = 0;
      for (galore::Parameter<T>& p : model.parameters()) {
        p.grad = galore::Matrix<float>("grad", p.value.extent(0), p.value.extent(1));
        galore::fill_normal(space, p.grad, galore::CounterRng(1000 + s, stream++), 0.0f, 0.1f);
      }
      optimizer.step(space, model.parameters(), s, 1e-3f);
      model.clear_gradients();
    }
    space.fence();
  }
};

template <class T>
std::unique_ptr<Trainee<T>> make_trainee(const std::string& optimizer, std::uint64_t seed = 11,
                                         const galore::ModelConfig& m = tiny_model()) {
  return std::make_unique<Trainee<T>>(run_config(optimizer, std::is_same_v<T, galore::bf16>), m,
                                      seed);
}

inline Bytes host_bytes(const galore::StateTensor& t) {
  Bytes out(t.bytes);
  if (t.on_host) {
    std::memcpy(out.data(), t.data, t.bytes);
  } else {
    Kokkos::View<unsigned char*, galore::MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> d(
        static_cast<unsigned char*>(t.data), t.bytes);
    Kokkos::View<unsigned char*, galore::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
        out.data(), t.bytes);
    Kokkos::deep_copy(h, d);
  }
  return out;
}

// Every weight and optimizer state tensor (step counters included) as raw bytes.
template <class T>
Snapshot snapshot(Trainee<T>& t) {
  Snapshot out;
  for (const galore::Parameter<T>& p : t.model.parameters()) {
    out["weight:" + p.name] = host_bytes(galore::describe_state(p.name, p.value));
  }
  t.optimizer.visit_state(
      [&](const galore::StateTensor& s) { out["state:" + s.name] = host_bytes(s); });
  return out;
}

// Every dataset of a checkpoint file under /model and /optimizer, as raw bytes, plus the
// attributes that carry state: per-parameter step counts and the /train progress.
inline Snapshot file_contents(const std::string& path) {
  const Hdf5File file = Hdf5File::open_read_only(path);
  Snapshot out;
  const auto read = [&](const std::string& name) {
    const galore::checkpoint::DatasetInfo info = file.dataset_info(name);
    std::size_t count = galore::checkpoint::element_size(info.type);
    for (const std::int64_t extent : info.shape) count *= static_cast<std::size_t>(extent);
    Bytes data(count);
    file.read_dataset(name, info.type, info.shape, data.data());
    out[name] = data;
  };
  const auto text = [](const galore::checkpoint::AttributeValue& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&v)) {
      Bytes bits(sizeof(double));
      std::memcpy(bits.data(), d, sizeof(double));
      return std::string(bits.begin(), bits.end());  // exact bits
    }
    return std::get<std::string>(v);
  };
  const auto keep_attribute = [&](const std::string& object, const std::string& name) {
    const std::string value = text(file.attribute(object, name));
    out[object + "@" + name] = Bytes(value.begin(), value.end());
  };
  for (const std::string& name : file.members("/model")) read("/model/" + name);
  for (const std::string& group : file.members("/optimizer")) {
    keep_attribute("/optimizer/" + group, "step");
    for (const std::string& name : file.members("/optimizer/" + group)) {
      read("/optimizer/" + group + "/" + name);
    }
  }
  for (const char* name : {"step", "tokens_seen", "sampler.seed", "sampler.samples_drawn",
                           "clip_reference_norm", "last_train_loss", "initial_validation_loss"}) {
    keep_attribute("/train", name);
  }
  return out;
}

// CHECKs that two snapshots hold the same names with the same bytes, naming the first mismatch.
inline void require_identical(const Snapshot& a, const Snapshot& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, bytes] : a) {
    INFO("tensor " << name);
    REQUIRE(b.count(name) == 1);
    CHECK(bytes == b.at(name));
  }
}

}  // namespace checkpoint_test
