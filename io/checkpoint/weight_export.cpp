// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets [begin, end)}, "__metadata__": {string: string}} padded with spaces to a multiple
// of 8, then the tensor bytes in header order.
#include "io/checkpoint/weight_export.hpp"

#include "galore/core/error.hpp"
#include "io/checkpoint/checkpoint.hpp"
#include "io/checkpoint/durable_commit.hpp"
#include "io/checkpoint/hdf5_file.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

namespace galore::checkpoint {

namespace {

namespace fs = std::filesystem;

Hdf5File open_checkpoint(const std::string& path) {
  Hdf5File file = Hdf5File::open_read_only(path);
  if (!file.has_attribute("/", "format") || file.string_attribute("/", "format") != kFormatName) {
    throw IoError(path + ": not a galore-kokkos checkpoint");
  }
  return file;
}

nlohmann::json hf_config(const Hdf5File& file) {
  const auto integer = [&](const char* name) { return file.integer_attribute("/model", name); };
  // The model holds these as float: the shortest float spelling (1e-06, not 9.99999997e-07).
  const auto as_float = [&](const char* name) {
    return std::stod(fmt::format("{}", static_cast<float>(file.real_attribute("/model", name))));
  };
  const std::string dtype = file.string_attribute("/model", "dtype");
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", integer("hidden_size")},
          {"intermediate_size", integer("intermediate_size")},
          {"num_attention_heads", integer("num_attention_heads")},
          {"num_key_value_heads", integer("num_attention_heads")},
          {"num_hidden_layers", integer("num_hidden_layers")},
          {"vocab_size", integer("vocab_size")},
          {"max_position_embeddings", integer("max_sequence_length")},
          {"rms_norm_eps", as_float("rms_norm_eps")},
          {"rope_theta", as_float("rope_theta")},
          {"hidden_act", "silu"},
          {"tie_word_embeddings", false},
          {"torch_dtype", dtype}};
}

// Writes `path` through a synced temporary file and a rename; `body` streams the content.
void write_file(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string temporary = path + ".tmp";
  try {
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      body(out);
      if (!out.flush()) throw IoError("cannot write " + temporary);
    }
    commit_file(temporary, path);
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
}

std::string length_prefixed(std::string json) {
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string header(8, '\0');
  std::uint64_t length = json.size();
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return header + json;
}

}  // namespace

std::string hf_config_json(const std::string& checkpoint_path) {
  return hf_config(open_checkpoint(checkpoint_path)).dump(2) + "\n";
}

ExportSummary export_weights(const std::string& checkpoint_path, const std::string& output) {
  const Hdf5File file = open_checkpoint(checkpoint_path);
  ExportSummary summary;
  summary.step = file.integer_attribute("/", "step");
  summary.dtype = file.string_attribute("/model", "dtype");
  const nlohmann::json config = hf_config(file);

  // The header needs every shape first; the tensors then stream through one host buffer.
  nlohmann::json header = nlohmann::json::object();
  std::vector<std::pair<std::string, DatasetInfo>> entries;
  for (const std::string& name : file.members("/model")) {
    const DatasetInfo info = file.dataset_info("/model/" + name);
    if (element_type_name(info.type) != summary.dtype) {
      throw IoError(checkpoint_path + ":/model/" + name + ": dtype differs from the model's " +
                    summary.dtype);
    }
    std::int64_t bytes = static_cast<std::int64_t>(element_size(info.type));
    for (const std::int64_t extent : info.shape) bytes *= extent;
    header[name] = {{"dtype", info.type == ElementType::BFloat16 ? "BF16" : "F32"},
                    {"shape", info.shape},
                    {"data_offsets", {summary.bytes, summary.bytes + bytes}}};
    summary.bytes += bytes;
    entries.emplace_back(name, info);
  }
  summary.tensors = static_cast<int>(entries.size());
  header["__metadata__"] = {{"format", "pt"},
                            {"source", "galore-kokkos checkpoint " + checkpoint_path},
                            {"step", std::to_string(summary.step)},
                            {"config", config.dump()}};

  const bool single_file = fs::path(output).extension() == ".safetensors";
  if (!single_file) fs::create_directories(output);
  summary.weights_path = single_file ? output : (fs::path(output) / "model.safetensors").string();
  write_file(summary.weights_path, [&](std::ostream& out) {
    const std::string prefix = length_prefixed(header.dump());
    out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
    std::vector<unsigned char> data;
    for (const auto& [name, info] : entries) {
      data.resize(static_cast<std::size_t>(header[name]["data_offsets"][1].get<std::int64_t>() -
                                           header[name]["data_offsets"][0].get<std::int64_t>()));
      file.read_dataset("/model/" + name, info.type, info.shape, data.data());
      out.write(reinterpret_cast<const char*>(data.data()),
                static_cast<std::streamsize>(data.size()));
    }
  });
  if (!single_file) {
    write_file((fs::path(output) / "config.json").string(),
               [&](std::ostream& out) { out << config.dump(2) << '\n'; });
  }
  return summary;
}

}  // namespace galore::checkpoint
