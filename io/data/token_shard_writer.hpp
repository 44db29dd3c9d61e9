// Writes GLRTOKS1 token shards (layout in token_shard_format.hpp and docs/data.md), streaming, so
// galore-data converts corpora larger than memory.
#pragma once

#include "io/data/token_source.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace galore::data {

class TokenShardWriter {
 public:
  // Starts `path`.partial; finish() renames it to `path`. IoError when vocab_size is not in
  // [1, 2^16] for uint16 or [1, 2^32] for uint32, or the file cannot be created.
  TokenShardWriter(std::string path, TokenDtype dtype, std::int64_t vocab_size);
  // A writer destroyed before finish() removes its partial file: no half-written shard remains.
  ~TokenShardWriter();
  TokenShardWriter(const TokenShardWriter&) = delete;
  TokenShardWriter& operator=(const TokenShardWriter&) = delete;

  // Appends tokens; an id outside [0, vocab_size) is an IoError naming the file and token offset.
  void append(const std::int32_t* tokens, std::int64_t count);
  // Writes the token count into the header, closes the file and moves it into place.
  void finish();

  std::int64_t count() const { return count_; }
  const std::string& path() const { return path_; }

 private:
  void write_bytes(const void* bytes, std::size_t size);

  std::string path_;
  std::string partial_path_;
  TokenDtype dtype_;
  std::int64_t vocab_size_;
  std::int64_t count_ = 0;
  std::FILE* file_ = nullptr;
  std::vector<std::uint8_t> encoded_;
};

// Writes a whole shard in one call.
void write_token_shard(const std::string& path, const std::vector<std::int32_t>& tokens,
                       TokenDtype dtype, std::int64_t vocab_size);

}  // namespace galore::data
