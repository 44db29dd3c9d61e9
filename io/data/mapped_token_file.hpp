// Memory-mapped token files: GLRTOKS1 shards, llm.c .bin files and headerless raw files
// (nanoGPT-style), recognised by their first bytes. Every malformed file is an IoError at open
// naming the file and the byte offset; token ids are checked per window by TokenSource::read().
#pragma once

#include "io/data/mapped_file.hpp"
#include "io/data/token_source.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace galore::data {

enum class TokenFileFormat { glrtoks1, llmc, raw };

const char* format_name(TokenFileFormat format);

struct TokenFileOptions {
  // Required for headerless raw files; for files with a header it must match the header.
  std::optional<TokenDtype> dtype;
  // Vocabulary of files whose header does not record one (raw and llm.c files); 0 means the
  // dtype's full range for raw files and the tokenizer's (50257 GPT-2, 128256 LLaMA-3) for llm.c.
  // GLRTOKS1 shards always use their header's value.
  std::int64_t vocab_size = 0;
};

class MappedTokenFile : public TokenSource {
 public:
  // Throws IoError for a missing, empty or truncated file, an unknown magic or version, a token
  // width other than 2 or 4, a dtype that contradicts the header, or (raw files) a size that is
  // not a whole number of tokens.
  explicit MappedTokenFile(const std::string& path, const TokenFileOptions& options = {});

  std::int64_t size() const override { return count_; }
  std::int64_t vocab_size() const override { return vocab_size_; }
  std::string name() const override { return file_.path(); }
  std::string position(std::int64_t offset) const override;

  TokenFileFormat format() const { return format_; }
  TokenDtype dtype() const { return dtype_; }
  std::uint32_t version() const { return version_; }  // 0 for raw files
  std::int64_t header_bytes() const { return header_bytes_; }

 protected:
  void fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const override;

 private:
  void parse_glrtoks1(const TokenFileOptions& options);
  void parse_llmc(const TokenFileOptions& options);
  void parse_raw(const TokenFileOptions& options);
  void check_requested_dtype(const TokenFileOptions& options, std::int64_t header_offset) const;
  void check_payload_size() const;

  MappedFile file_;
  TokenFileFormat format_ = TokenFileFormat::raw;
  TokenDtype dtype_ = TokenDtype::uint16;
  std::uint32_t version_ = 0;
  std::int64_t header_bytes_ = 0;
  std::int64_t count_ = 0;
  std::int64_t vocab_size_ = 0;
};

}  // namespace galore::data
