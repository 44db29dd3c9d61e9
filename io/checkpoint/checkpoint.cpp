// Writing and loading the checkpoint layout of checkpoint.hpp. Tensors move one at a time through a
// host buffer, so a checkpoint never needs a second copy of the model in host memory.
#include "io/checkpoint/checkpoint.hpp"

#include "galore/core/error.hpp"
#include "io/checkpoint/durable_commit.hpp"
#include "io/checkpoint/hdf5_file.hpp"
#include "io/checkpoint/run_compatibility.hpp"
#include "io/config/lr_schedule.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#ifndef GALORE_LIBRARY_VERSION
#define GALORE_LIBRARY_VERSION "unknown"
#endif

namespace galore::checkpoint {

namespace {

static_assert(sizeof(bf16) == 2, "bfloat16 is stored as uint16");

using Bytes = std::vector<unsigned char>;

void copy_to_host(const ExecSpace& space, const StateTensor& tensor, Bytes& host) {
  host.resize(tensor.bytes);
  if (tensor.on_host) {
    std::memcpy(host.data(), tensor.data, tensor.bytes);
    return;
  }
  Kokkos::View<unsigned char*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> device(
      static_cast<unsigned char*>(tensor.data), tensor.bytes);
  Kokkos::View<unsigned char*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> mirror(
      host.data(), tensor.bytes);
  Kokkos::deep_copy(space, mirror, device);
  space.fence();
}

void copy_from_host(const ExecSpace& space, const Bytes& host, const StateTensor& tensor) {
  if (tensor.on_host) {
    std::memcpy(tensor.data, host.data(), tensor.bytes);
    return;
  }
  Kokkos::View<unsigned char*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> device(
      static_cast<unsigned char*>(tensor.data), tensor.bytes);
  Kokkos::View<const unsigned char*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> source(
      host.data(), tensor.bytes);
  Kokkos::deep_copy(space, device, source);
  space.fence();
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (const std::int64_t extent : shape) count *= extent;
  return count;
}

// A state tensor as the file stores it: its group, and a dataset or (rank 0) attribute name.
struct StatePlace {
  std::string group;  // "/optimizer/<parameter name>"
  std::string leaf;   // "exp_avg", "exp_avg.codes", "galore.left", "step", ...
};

// State names are "<parameter name>.<leaf>"; parameter names themselves contain dots.
StatePlace place_of(const std::string& state_name, const std::vector<std::string>& parameters) {
  const std::string* owner = nullptr;
  for (const std::string& name : parameters) {
    const bool prefix = state_name.size() > name.size() + 1 &&
                        state_name.compare(0, name.size(), name) == 0 &&
                        state_name[name.size()] == '.';
    if (prefix && (owner == nullptr || name.size() > owner->size())) owner = &name;
  }
  if (owner == nullptr) {
    throw Error("checkpoint: optimizer state '" + state_name + "' belongs to no parameter");
  }
  return {"/optimizer/" + *owner, state_name.substr(owner->size() + 1)};
}

template <class T>
std::vector<std::string> parameter_names(const std::vector<Parameter<T>>& parameters) {
  std::vector<std::string> names;
  for (const Parameter<T>& p : parameters) names.push_back(p.name);
  return names;
}

// Test hook (GALORE_TEST_CHECKPOINT_STALL_STEP=<step>): the writer of that step's checkpoint
// stops halfway through the temporary file and sleeps, so a test can SIGKILL it mid-write.
void stall_if_requested(Hdf5File& file, std::int64_t step) {
  const char* value = std::getenv("GALORE_TEST_CHECKPOINT_STALL_STEP");
  if (value == nullptr || std::strtoll(value, nullptr, 10) != step) return;
  file.flush();
  std::cerr << "galore-kokkos test hook: checkpoint writer stalled in " << file.path() << std::endl;
  std::this_thread::sleep_for(std::chrono::minutes(10));
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

void write_progress(Hdf5File& file, const config::RunConfig& config,
                    const TrainProgress& progress) {
  const config::LrSchedule schedule = config::lr_schedule(config);
  const std::vector<std::pair<std::string, AttributeValue>> values = {
      {"step", progress.step},
      {"total_steps", progress.total_steps},
      {"tokens_seen", progress.tokens_seen},
      {"sampler.seed", static_cast<std::int64_t>(progress.sampler.seed)},
      {"sampler.samples_drawn", static_cast<std::int64_t>(progress.sampler.samples_drawn)},
      {"clip_reference_norm", progress.clip_reference_norm},
      {"initial_validation_loss", progress.initial_validation_loss},
      {"last_train_loss", progress.last_train_loss},
      {"train_seconds", progress.train_seconds},
      {"lr_schedule.peak_lr", schedule.peak_lr},
      {"lr_schedule.warmup_steps", schedule.warmup_steps},
      {"lr_schedule.total_steps", schedule.total_steps},
      {"lr_schedule.min_lr_ratio", schedule.min_lr_ratio},
      {"lr_schedule.next_lr", schedule.at(progress.step)},
  };
  for (const auto& [name, value] : values) file.set_attribute("/train", name, value);
}

TrainProgress read_progress(const Hdf5File& file) {
  TrainProgress p;
  p.step = file.integer_attribute("/train", "step");
  p.total_steps = file.integer_attribute("/train", "total_steps");
  p.tokens_seen = file.integer_attribute("/train", "tokens_seen");
  p.sampler.seed = static_cast<std::uint64_t>(file.integer_attribute("/train", "sampler.seed"));
  p.sampler.samples_drawn =
      static_cast<std::uint64_t>(file.integer_attribute("/train", "sampler.samples_drawn"));
  p.clip_reference_norm = file.real_attribute("/train", "clip_reference_norm");
  p.initial_validation_loss = file.real_attribute("/train", "initial_validation_loss");
  p.last_train_loss = file.real_attribute("/train", "last_train_loss");
  p.train_seconds = file.real_attribute("/train", "train_seconds");
  return p;
}

template <class T>
void write_model(const ExecSpace& space, Hdf5File& file, TrainingState<T>& state) {
  file.set_attribute("/model", "max_sequence_length",
                     std::int64_t{state.model.max_sequence_length});
  file.set_attribute("/model", "parameter_count", state.model.parameter_count());
  Bytes host;
  for (const Parameter<T>& p : state.parameters) {
    copy_to_host(space, describe_state(p.name, p.value), host);
    const std::string name = "/model/" + p.name;
    file.write_dataset(name, parse_element_type(dtype_name<T>()), hf_shape(p), host.data());
    file.set_attribute(name, "role", std::string(role_name(p.role)));
    file.set_attribute(name, "layer", std::int64_t{p.layer});
  }
}

template <class T>
void write_projector_attributes(Hdf5File& file, const std::string& dataset,
                                const GaLoreProjector<T>& projector,
                                const config::RunConfig& config, std::int64_t parameter_step) {
  const std::int64_t gap = config.optimizer.update_gap;
  // The basis in use was computed at the parameter's last update index that is a multiple of T.
  const std::int64_t refresh_step = parameter_step == 0 ? -1 : (parameter_step - 1) / gap * gap;
  file.set_attribute(dataset, "side", std::string(projection_side_name(projector.side())));
  file.set_attribute(dataset, "rank", std::int64_t{projector.rank()});
  file.set_attribute(dataset, "update_gap", gap);
  file.set_attribute(dataset, "scale", config.optimizer.scale);
  file.set_attribute(dataset, "refresh_step", refresh_step);
  file.set_attribute(dataset, "refresh", config.optimizer.refresh);
  file.set_attribute(dataset, "proj_type", config.optimizer.proj_type);
}

template <class T>
void write_optimizer(const ExecSpace& space, Hdf5File& file, TrainingState<T>& state) {
  const std::vector<std::string> names = parameter_names(state.parameters);
  for (const Parameter<T>& p : state.parameters) {
    file.create_group("/optimizer/" + p.name);
    file.set_attribute("/optimizer/" + p.name, "role", std::string(role_name(p.role)));
  }
  Bytes host;
  state.optimizer.visit_state([&](const StateTensor& tensor) {
    const StatePlace place = place_of(tensor.name, names);
    const ElementType type = parse_element_type(tensor.dtype);
    if (static_cast<std::size_t>(element_count(tensor.shape)) * element_size(type) !=
        tensor.bytes) {
      throw Error("checkpoint: optimizer state '" + tensor.name + "' is not contiguous");
    }
    copy_to_host(space, tensor, host);
    if (tensor.shape.empty()) {  // counters such as the parameter's step: an attribute
      AttributeValue value;
      if (type == ElementType::Int64) {
        std::int64_t integer = 0;
        std::memcpy(&integer, host.data(), sizeof(integer));
        value = integer;
      } else if (type == ElementType::Float32) {
        float real = 0;
        std::memcpy(&real, host.data(), sizeof(real));
        value = double{real};
      } else {
        throw Error("checkpoint: scalar optimizer state '" + tensor.name + "' of type " +
                    tensor.dtype);
      }
      file.set_attribute(place.group, place.leaf, value);
      return;
    }
    const std::string dataset = place.group + "/" + place.leaf;
    file.write_dataset(dataset, type, tensor.shape, host.data());
    if (place.leaf.rfind("galore.", 0) == 0) {
      const std::string parameter = place.group.substr(std::strlen("/optimizer/"));
      write_projector_attributes(file, dataset, *state.optimizer.projector(parameter), state.config,
                                 state.optimizer.parameter_step(parameter));
    }
  });
}

template <class T>
void write_contents(const ExecSpace& space, Hdf5File& file, TrainingState<T>& state,
                    const TrainProgress& progress) {
  file.set_attribute("/", "format", std::string(kFormatName));
  file.set_attribute("/", "format_version", kFormatVersion);
  file.set_attribute("/", "library_version", std::string(GALORE_LIBRARY_VERSION));
  file.set_attribute("/", "hdf5_version", hdf5_version());
  file.set_attribute("/", "step", progress.step);
  file.set_attribute("/", "created_utc", utc_now());
  for (const char* group : {"/run", "/train", "/model", "/optimizer"}) file.create_group(group);
  file.set_attribute("/run", "config_toml", config::to_toml(state.config));
  write_resume_settings(file, resume_settings(state.config, state.model));
  file.set_attribute("/optimizer", "lr", state.config.optimizer.lr);  // peak; informational
  write_progress(file, state.config, progress);
  write_model(space, file, state);
  stall_if_requested(file, progress.step);
  write_optimizer(space, file, state);
}

// ConfigError listing what one side has and the other lacks.
void require_same_members(const std::set<std::string>& in_file,
                          const std::set<std::string>& expected, const std::string& where,
                          const std::string& what) {
  std::string extra, missing;
  for (const std::string& name : in_file) {
    if (!expected.count(name)) extra += (extra.empty() ? "" : ", ") + name;
  }
  for (const std::string& name : expected) {
    if (!in_file.count(name)) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (extra.empty() && missing.empty()) return;
  std::string message = "cannot resume from " + where + ": its " + what + " differ from this run's";
  if (!extra.empty()) message += "; only in the checkpoint: " + extra;
  if (!missing.empty()) message += "; missing from the checkpoint: " + missing;
  throw ConfigError(message);
}

std::set<std::string> member_set(const Hdf5File& file, const std::string& group) {
  const std::vector<std::string> names = file.members(group);
  return {names.begin(), names.end()};
}

template <class T>
void load_model(const ExecSpace& space, const Hdf5File& file, TrainingState<T>& state) {
  std::set<std::string> expected;
  for (const Parameter<T>& p : state.parameters) expected.insert(p.name);
  require_same_members(member_set(file, "/model"), expected, file.path(), "model weights");
  Bytes host;
  for (const Parameter<T>& p : state.parameters) {
    const StateTensor tensor = describe_state(p.name, p.value);
    host.resize(tensor.bytes);
    file.read_dataset("/model/" + p.name, parse_element_type(tensor.dtype), hf_shape(p),
                      host.data());
    copy_from_host(space, host, tensor);
  }
}

template <class T>
void load_optimizer(const ExecSpace& space, const Hdf5File& file, TrainingState<T>& state) {
  const std::vector<std::string> names = parameter_names(state.parameters);
  require_same_members(member_set(file, "/optimizer"), {names.begin(), names.end()}, file.path(),
                       "optimizer parameter groups");
  std::map<std::string, std::set<std::string>> expected_datasets;
  for (const std::string& name : names) expected_datasets["/optimizer/" + name];
  Bytes host;
  state.optimizer.visit_state([&](const StateTensor& tensor) {
    const StatePlace place = place_of(tensor.name, names);
    const ElementType type = parse_element_type(tensor.dtype);
    host.resize(tensor.bytes);
    if (tensor.shape.empty()) {
      if (type == ElementType::Int64) {
        const std::int64_t value = file.integer_attribute(place.group, place.leaf);
        std::memcpy(host.data(), &value, sizeof(value));
      } else {
        const auto value = static_cast<float>(file.real_attribute(place.group, place.leaf));
        std::memcpy(host.data(), &value, sizeof(value));
      }
    } else {
      expected_datasets[place.group].insert(place.leaf);
      file.read_dataset(place.group + "/" + place.leaf, type, tensor.shape, host.data());
    }
    copy_from_host(space, host, tensor);
  });
  for (const auto& [group, datasets] : expected_datasets) {
    require_same_members(member_set(file, group), datasets, file.path() + ":" + group,
                         "optimizer state tensors");
  }
}

}  // namespace

template <class T>
std::vector<std::int64_t> hf_shape(const Parameter<T>& parameter) {
  const auto rows = static_cast<std::int64_t>(parameter.value.extent(0));
  const auto cols = static_cast<std::int64_t>(parameter.value.extent(1));
  if (parameter.role == ParamRole::Norm && rows == 1) return {cols};
  return {rows, cols};
}

template <class T>
void write_checkpoint(const ExecSpace& space, const std::string& path, TrainingState<T>& state,
                      const TrainProgress& progress) {
  const std::string temporary = path + ".tmp";
  try {
    Hdf5File file = Hdf5File::create(temporary);
    write_contents(space, file, state, progress);
    file.close();
    commit_file(temporary, path);
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
}

template <class T>
TrainProgress load_checkpoint(const ExecSpace& space, const std::string& path,
                              TrainingState<T>& state) {
  const Hdf5File file = Hdf5File::open_read_only(path);
  if (!file.has_attribute("/", "format") || file.string_attribute("/", "format") != kFormatName) {
    throw IoError(path + ": not a galore-kokkos checkpoint (no format = \"" +
                  std::string(kFormatName) + "\" attribute)");
  }
  const std::int64_t version = file.integer_attribute("/", "format_version");
  if (version > kFormatVersion) {
    throw IoError(
        fmt::format("{}: checkpoint format version {} is newer than this build reads ({})", path,
                    version, kFormatVersion));
  }
  check_resume_settings(file, resume_settings(state.config, state.model));
  load_model(space, file, state);
  load_optimizer(space, file, state);
  return read_progress(file);
}

#define GALORE_INSTANTIATE_CHECKPOINT(T)                                                     \
  template std::vector<std::int64_t> hf_shape<T>(const Parameter<T>&);                       \
  template void write_checkpoint<T>(const ExecSpace&, const std::string&, TrainingState<T>&, \
                                    const TrainProgress&);                                   \
  template TrainProgress load_checkpoint<T>(const ExecSpace&, const std::string&,            \
                                            TrainingState<T>&);
GALORE_INSTANTIATE_CHECKPOINT(float)
GALORE_INSTANTIATE_CHECKPOINT(bf16)
#undef GALORE_INSTANTIATE_CHECKPOINT

}  // namespace galore::checkpoint
