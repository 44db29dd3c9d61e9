// Text files to byte tokens, streamed in fixed-size chunks so any file size works.
#include "io/data/byte_tokenizer.hpp"

#include "galore/core/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace galore::data {

void tokenize_text_file(const std::string& path, const TokenSink& sink) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw IoError(path + ": cannot open: " + std::strerror(errno));
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<unsigned char> bytes(kChunk);
  std::vector<std::int32_t> tokens(kChunk);
  std::size_t total = 0;
  const std::int32_t bos = byte_vocab::kBos;
  sink(&bos, 1);
  for (;;) {
    const std::size_t got = std::fread(bytes.data(), 1, kChunk, file.get());
    if (std::ferror(file.get())) {
      throw IoError(path + ": read failed at byte offset " + std::to_string(total));
    }
    for (std::size_t i = 0; i < got; ++i) tokens[i] = bytes[i];
    if (got > 0) sink(tokens.data(), got);
    total += got;
    if (got < kChunk) break;
  }
  if (total == 0) throw IoError(path + ": file is empty (0 bytes)");
  const std::int32_t eos = byte_vocab::kEos;
  sink(&eos, 1);
}

}  // namespace galore::data
