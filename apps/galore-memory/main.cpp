// galore-memory: prints training memory per component (GB = 1e9 bytes) for LLaMA presets and
// training methods, in the paper's BF16 setting and/or our precision policy.
//
//   galore-memory                                   # 60m..7b, every method, per-layer off and on
//   galore-memory --models 7b --methods adamw,galore_adamw8bit --precision both
//   galore-memory --models 1b --batch 16 --seq 256 --rank 512 --per-layer on
#include "galore/core/error.hpp"
#include "galore/model/config.hpp"
#include "galore/train/memory_accounting.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

double gb(std::int64_t bytes) { return static_cast<double>(bytes) / 1e9; }

void print_table(const std::vector<std::string>& models, const std::vector<std::string>& methods,
                 const std::vector<bool>& per_layer_modes, bool paper,
                 const galore::MemoryQuery& base, int rank_override) {
  fmt::print("\n{} precision: weights {}, gradients {}, 32-bit moments {}; batch {} x seq {}{}\n",
             paper ? "Paper BF16" : "Our", base.bf16 ? "bf16" : "fp32", paper ? "bf16" : "fp32",
             paper ? "bf16" : "fp32", base.batch, base.seq,
             base.activation_checkpointing ? ", activation checkpointing" : "");
  fmt::print("{:<6} {:<17} {:>5} {:>9} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} | {:>8}\n",
             "model", "method", "rank", "per-layer", "weights", "grads", "states", "proj", "scales",
             "activ", "work", "total GB");
  for (const std::string& name : models) {
    for (const std::string& method : methods) {
      for (const bool per_layer : per_layer_modes) {
        galore::MemoryQuery q = base;
        q.model = galore::model_preset(name);
        q.method = galore::parse_training_method(method);
        q.rank = rank_override > 0 ? rank_override : galore::paper_galore_rank(name);
        q.per_layer = per_layer;
        if (paper) q = galore::with_paper_precision(q);
        const bool ranked = method.rfind("galore", 0) == 0 || method == "lora";
        const galore::MemoryBreakdown m = galore::estimate_training_memory(q);
        fmt::print(
            "{:<6} {:<17} {:>5} {:>9} | {:8.3f} {:8.3f} {:8.3f} {:8.3f} {:8.4f} {:8.3f} {:8.3f} | "
            "{:8.2f}\n",
            name, method, ranked ? std::to_string(q.rank) : "-", per_layer ? "on" : "off",
            gb(m.weights), gb(m.gradients), gb(m.optimizer_states), gb(m.projection_matrices),
            gb(m.quantization_scales), gb(m.activations), gb(m.workspace), gb(m.total()));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training memory per component for LLaMA presets (GB = 1e9 bytes)"};
  std::vector<std::string> models = {"60m", "130m", "350m", "1b", "7b"};
  std::vector<std::string> methods = galore::training_method_names();
  std::string per_layer = "both";
  std::string precision = "paper";
  galore::MemoryQuery base;
  int rank = 0;
  bool fp32 = false;
  app.add_option("--models", models, "presets (9m, 20m, 60m, 130m, 350m, 1b, 7b)")->delimiter(',');
  app.add_option("--methods", methods,
                 "adamw, adam8bit, adafactor, galore_adamw, "
                 "galore_adamw8bit, galore_adafactor, lora")
      ->delimiter(',');
  app.add_option("--rank", rank, "GaLore/LoRA rank (default: the paper's rank for each size)");
  app.add_option("--batch", base.batch, "sequences per micro-batch")->capture_default_str();
  app.add_option("--seq", base.seq, "sequence length")->capture_default_str();
  app.add_option("--per-layer", per_layer, "per-layer weight updates: off, on or both")
      ->check(CLI::IsMember({"off", "on", "both"}))
      ->capture_default_str();
  app.add_option("--precision", precision,
                 "paper (bf16 gradients and moments), ours (fp32 gradients and moments) or both")
      ->check(CLI::IsMember({"paper", "ours", "both"}))
      ->capture_default_str();
  app.add_flag("--fp32", fp32, "fp32 weights and activations (our policy only)");
  app.add_flag("--checkpointing", base.activation_checkpointing, "activation checkpointing");
  CLI11_PARSE(app, argc, argv);
  base.bf16 = !fp32;

  std::vector<bool> modes;
  if (per_layer != "on") modes.push_back(false);
  if (per_layer != "off") modes.push_back(true);
  try {
    for (const auto& m : models) galore::model_preset(m);  // refuse bad names before printing
    for (const auto& m : methods) galore::parse_training_method(m);
    if (precision != "ours") print_table(models, methods, modes, true, base, rank);
    if (precision != "paper") print_table(models, methods, modes, false, base, rank);
  } catch (const galore::Error& e) {
    std::cerr << "galore-memory: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
