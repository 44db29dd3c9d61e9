// Downstream check for an installed galore-kokkos: one forward pass of a tiny LLaMA model through
// the installed headers and static libraries.
//
// With weights ~ normal(0, 0.02) the next-token distribution is almost uniform, so the mean
// cross-entropy must be finite and within a few hundredths of ln(vocab).
#include <galore/model/llama_model.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace {

int check_forward_pass() {
  galore::ModelConfig config;
  config.hidden_size = 32;
  config.intermediate_size = 88;
  config.num_attention_heads = 4;
  config.num_hidden_layers = 2;
  config.vocab_size = 64;
  config.max_sequence_length = 16;
  config.validate();

  const int batch = 2, seq = 8;
  using Tokens = Kokkos::View<std::int32_t**, Kokkos::LayoutRight, galore::MemSpace>;
  Tokens inputs("inputs", batch, seq), targets("targets", batch, seq);
  auto inputs_host = Kokkos::create_mirror_view(inputs);
  auto targets_host = Kokkos::create_mirror_view(targets);
  for (int b = 0; b < batch; ++b) {
    for (int s = 0; s < seq; ++s) {
      inputs_host(b, s) = (7 * b + 5 * s + 3) % config.vocab_size;
      targets_host(b, s) = (7 * b + 5 * (s + 1) + 3) % config.vocab_size;
    }
  }
  Kokkos::deep_copy(inputs, inputs_host);
  Kokkos::deep_copy(targets, targets_host);

  galore::ExecSpace space;
  galore::LlamaModel<float> model(config, /*seed=*/1234);
  const float loss = model.evaluate_loss(space, inputs, targets);
  const double uniform = std::log(static_cast<double>(config.vocab_size));
  const bool ok = std::isfinite(loss) && std::fabs(loss - uniform) < 0.05;
  std::printf("LlamaModel<float> forward on %s: loss %.5f, ln(vocab) %.5f: %s\n",
              galore::ExecSpace::name(), static_cast<double>(loss), uniform, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  return check_forward_pass();
}
