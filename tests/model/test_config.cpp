// ModelConfig: the paper's presets and their parameter counts, validation, and the HF config.json
// reader (known keys, typos with suggestions, wrong types, unsupported architecture variants).
#include "catch.hpp"
#include "galore/core/error.hpp"
#include "galore/model/config.hpp"

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

namespace {

// The message of the ConfigError (or IoError) `f` throws; fails the test when it throws nothing.
std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const galore::Error& e) {
    return e.what();
  }
  FAIL("no galore::Error thrown");
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("presets have the paper's shapes and the LLaMA parameter counts", "[config]") {
  struct Expected {
    const char* name;
    int hidden, intermediate, heads, layers;
  };
  // GaLore paper: hidden / intermediate / heads / layers.
  const Expected table[] = {{"9m", 128, 352, 4, 4},       {"20m", 256, 688, 4, 4},
                            {"60m", 512, 1376, 8, 8},     {"130m", 768, 2048, 12, 12},
                            {"350m", 1024, 2736, 16, 24}, {"1b", 2048, 5461, 32, 24},
                            {"7b", 4096, 11008, 32, 32}};
  for (const Expected& e : table) {
    INFO(e.name);
    const galore::ModelConfig c = galore::model_preset(e.name);
    CHECK(c.hidden_size == e.hidden);
    CHECK(c.intermediate_size == e.intermediate);
    CHECK(c.num_attention_heads == e.heads);
    CHECK(c.num_hidden_layers == e.layers);
    CHECK(c.vocab_size == 32000);
    CHECK(c.rms_norm_eps == 1e-6f);
    CHECK_NOTHROW(c.validate());
    // Count tensor by tensor: embedding and head [V, h]; per layer q, k, v, o [h, h], gate and up
    // [i, h], down [h, i], two norms [h]; final norm [h].
    const std::int64_t h = e.hidden, i = e.intermediate, v = 32000;
    std::int64_t count = v * h + v * h + h;
    for (int l = 0; l < e.layers; ++l) count += 4 * (h * h) + 2 * (i * h) + h * i + 2 * h;
    CHECK(c.parameter_count() == count);
  }
  // Published totals: LLaMA-7B has 6,738,415,616 parameters (HF model card); the "60M" GaLore
  // model has 58.07M including both embedding tables.
  CHECK(galore::model_preset("7b").parameter_count() == 6738415616LL);
  CHECK(galore::model_preset("60m").parameter_count() == 58073600LL);
  CHECK(galore::model_preset_names().size() == 7);

  const std::string msg = error_message([] { galore::model_preset("61m"); });
  CHECK(contains(msg, "61m"));
  CHECK(contains(msg, "60m"));
}

TEST_CASE("validate names the offending field", "[config]") {
  const galore::ModelConfig good = galore::model_preset("9m");
  const auto message_for = [&](const std::function<void(galore::ModelConfig&)>& change) {
    galore::ModelConfig c = good;
    change(c);
    return error_message([&] { c.validate(); });
  };
  CHECK(contains(message_for([](auto& c) { c.hidden_size = 0; }), "hidden_size"));
  CHECK(contains(message_for([](auto& c) { c.intermediate_size = 0; }), "intermediate_size"));
  CHECK(contains(message_for([](auto& c) { c.num_attention_heads = 0; }), "num_attention_heads"));
  CHECK(contains(message_for([](auto& c) { c.num_hidden_layers = -1; }), "num_hidden_layers"));
  CHECK(contains(message_for([](auto& c) { c.vocab_size = 0; }), "vocab_size"));
  CHECK(contains(message_for([](auto& c) { c.max_sequence_length = 0; }), "max_sequence_length"));
  CHECK(contains(message_for([](auto& c) { c.rms_norm_eps = -1e-6f; }), "rms_norm_eps"));
  const std::string divisible = message_for([](auto& c) { c.num_attention_heads = 3; });
  CHECK(contains(divisible, "hidden_size 128"));
  CHECK(contains(divisible, "num_attention_heads 3"));
  const std::string odd = message_for([](auto& c) {
    c.hidden_size = 12;
    c.num_attention_heads = 4;  // head_dim 3
  });
  CHECK(contains(odd, "head_dim"));
}

TEST_CASE("the GaLore repository's and HF's config.json forms both load", "[config]") {
  // configs/llama_60m.json of the GaLore repository (max_sequence_length, pad_token_id -1).
  const std::string galore_json = R"({
    "architectures": ["LLaMAForCausalLM"], "bos_token_id": 0, "eos_token_id": 1,
    "hidden_act": "silu", "hidden_size": 512, "intermediate_size": 1376,
    "initializer_range": 0.02, "max_sequence_length": 1024, "model_type": "llama",
    "num_attention_heads": 8, "num_hidden_layers": 8, "pad_token_id": -1,
    "rms_norm_eps": 1e-06, "transformers_version": "4.28.1", "use_cache": true,
    "vocab_size": 32000})";
  const galore::ModelConfig c = galore::parse_model_config(galore_json, "llama_60m.json");
  CHECK(c.hidden_size == 512);
  CHECK(c.intermediate_size == 1376);
  CHECK(c.num_attention_heads == 8);
  CHECK(c.num_hidden_layers == 8);
  CHECK(c.vocab_size == 32000);
  CHECK(c.max_sequence_length == 1024);
  CHECK(c.rms_norm_eps == 1e-6f);
  CHECK(c.initializer_range == 0.02f);
  CHECK(c.parameter_count() == galore::model_preset("60m").parameter_count());

  // transformers' LlamaConfig.to_json_string() form.
  const std::string hf_json = R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "hidden_act": "silu", "hidden_size": 64, "intermediate_size": 176,
    "max_position_embeddings": 512, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 4,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 500000.0,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true,
    "vocab_size": 1000, "head_dim": 16})";
  const galore::ModelConfig hf = galore::parse_model_config(hf_json, "config.json");
  CHECK(hf.max_sequence_length == 512);
  CHECK(hf.rope_theta == 500000.0f);
  CHECK(hf.rms_norm_eps == 1e-5f);
  CHECK(hf.initializer_range == 0.02f);  // default when absent
}

TEST_CASE("config.json errors name the key, the file and the likely fix", "[config]") {
  const std::string base = R"("intermediate_size": 352, "num_attention_heads": 4,
      "num_hidden_layers": 4, "vocab_size": 32000)";
  const auto parse = [&](const std::string& extra) {
    return error_message(
        [&] { galore::parse_model_config("{" + extra + ", " + base + "}", "typo.json"); });
  };

  const std::string typo = parse(R"("hiden_size": 128)");
  CHECK(contains(typo, "typo.json"));
  CHECK(contains(typo, "\"hiden_size\""));
  CHECK(contains(typo, "did you mean 'hidden_size'?"));
  const std::string layers = parse(R"("hidden_size": 128, "num_hiden_layer": 2)");
  CHECK(contains(layers, "did you mean 'num_hidden_layers'?"));
  const std::string unrelated = parse(R"("hidden_size": 128, "flash_attention_mode": 2)");
  CHECK(contains(unrelated, "\"flash_attention_mode\""));
  CHECK_FALSE(contains(unrelated, "did you mean"));

  CHECK(contains(parse(R"("hidden_size": "128")"), "hidden_size must be an integer"));
  CHECK(contains(parse(R"("hidden_size": 128.5)"), "hidden_size must be an integer"));
  CHECK(contains(parse(R"("hidden_size": 128, "rms_norm_eps": "small")"), "rms_norm_eps"));
  CHECK(contains(parse(R"("hidden_size": 128, "hidden_act": "gelu")"), "hidden_act"));
  CHECK(
      contains(parse(R"("hidden_size": 128, "tie_word_embeddings": true)"), "tie_word_embeddings"));
  CHECK(contains(parse(R"("hidden_size": 128, "num_key_value_heads": 2)"), "num_key_value_heads"));
  CHECK(contains(parse(R"("hidden_size": 130)"), "num_attention_heads"));  // 130 % 4 != 0
  CHECK(contains(parse(R"("hidden_size": 0)"), "hidden_size"));
  CHECK(contains(parse(R"("hidden_size": 128, "max_sequence_length": 256,
                          "max_position_embeddings": 512)"),
                 "max_position_embeddings"));
  CHECK(contains(error_message([] { galore::parse_model_config("{}", "empty.json"); }),
                 "missing required key \"hidden_size\""));
  CHECK_THROWS_AS(galore::parse_model_config("{\"hidden_size\": ", "cut.json"), galore::IoError);
  CHECK_THROWS_AS(galore::parse_model_config("[1, 2]", "list.json"), galore::ConfigError);
}

TEST_CASE("load_model_config reads a file and names a missing one", "[config]") {
  const std::string path = "test_config_llama_9m.json";
  {
    std::ofstream out(path);
    out << R"({"hidden_size": 128, "intermediate_size": 352, "num_attention_heads": 4,
               "num_hidden_layers": 4, "vocab_size": 32000, "max_sequence_length": 256})";
  }
  const galore::ModelConfig c = galore::load_model_config(path);
  CHECK(c.parameter_count() == galore::model_preset("9m").parameter_count());
  std::remove(path.c_str());
  const std::string msg = error_message([] { galore::load_model_config("no/such/config.json"); });
  CHECK(contains(msg, "no/such/config.json"));
}
