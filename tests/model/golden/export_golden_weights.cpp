// Writes the golden model's weights as text for llama_reference.py:
//   one block per parameter: "<name> <rows> <cols>" then rows*cols values (row-major, %.9g).
// Usage: export_golden_weights <out.txt>
#include "galore/model/llama_model.hpp"
#include "golden_model.hpp"

#include <Kokkos_Core.hpp>

#include <cstdio>

int main(int argc, char* argv[]) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out.txt>\n", argv[0]);
    return 2;
  }
  Kokkos::ScopeGuard kokkos(argc, argv);
  galore::LlamaModel<float> model(golden::config(), golden::kSeed);
  std::FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  for (const auto& p : model.parameters()) {
    const auto host = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), p.value);
    std::fprintf(out, "%s %zu %zu\n", p.name.c_str(), host.extent(0), host.extent(1));
    for (std::size_t i = 0; i < host.extent(0); ++i) {
      for (std::size_t j = 0; j < host.extent(1); ++j) std::fprintf(out, "%.9g ", host(i, j));
      std::fprintf(out, "\n");
    }
  }
  return std::fclose(out) == 0 ? 0 : 1;
}
