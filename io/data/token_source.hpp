// TokenSource: a read-only sequence of token ids (a shard on disk, an HDF5 dataset, a corpus in
// memory) that the samplers cut into training windows. Every read checks its range and every id
// against the vocabulary, so bad data surfaces as an IoError naming the source and offset instead
// of an out-of-bounds embedding lookup later.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace galore::data {

enum class TokenDtype { uint16, uint32 };

const char* dtype_name(TokenDtype dtype);
int dtype_bytes(TokenDtype dtype);
// Number of distinct ids the dtype holds: 2^16 or 2^32.
std::int64_t dtype_id_limit(TokenDtype dtype);
// "uint16" | "uint32" -> dtype; anything else throws IoError naming `context` and the value.
TokenDtype parse_dtype(const std::string& name, const std::string& context);
// The narrowest dtype that holds every id below vocab_size.
TokenDtype smallest_dtype_for(std::int64_t vocab_size);

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Number of tokens.
  virtual std::int64_t size() const = 0;
  // Every id is in [0, vocab_size()).
  virtual std::int64_t vocab_size() const = 0;
  // The file (and dataset) or corpus name used in every message.
  virtual std::string name() const = 0;
  // Where token `offset` lives, for messages: "token offset 7" plus the byte offset for files.
  virtual std::string position(std::int64_t offset) const;

  // Copies tokens [offset, offset + length) into out. Throws IoError when the range leaves
  // [0, size()) or when an id is outside the vocabulary (naming the source, offset and value).
  // Not safe to call concurrently on HDF5 sources (the serial HDF5 library is not thread-safe).
  void read(std::int64_t offset, std::int64_t length, std::int32_t* out) const;

  // Passes every token to `visit` in order, in chunks of at most 65536 (ids checked as read()).
  void for_each_chunk(
      const std::function<void(const std::int32_t* tokens, std::int64_t count)>& visit) const;
  // Reads every token once to check the ids (a full scan; read() checks lazily per window).
  void validate() const;

 protected:
  // Fills out with tokens [offset, offset + length), passing each id through checked_id().
  virtual void fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const = 0;
  // Returns `id` as int32 when 0 <= id < vocab_size(), else throws IoError for token `offset`.
  std::int32_t checked_id(std::int64_t id, std::int64_t offset) const;
};

using TokenSourcePtr = std::shared_ptr<const TokenSource>;

// Tokens held in memory (the built-in corpus, tests).
class InMemoryTokenSource : public TokenSource {
 public:
  InMemoryTokenSource(std::string name, std::vector<std::int32_t> tokens, std::int64_t vocab_size);
  std::int64_t size() const override { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t vocab_size() const override { return vocab_size_; }
  std::string name() const override { return name_; }
  const std::vector<std::int32_t>& tokens() const { return tokens_; }

 protected:
  void fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const override;

 private:
  std::string name_;
  std::vector<std::int32_t> tokens_;
  std::int64_t vocab_size_;
};

// Tokens [begin, begin + length) of another source; positions in messages are the parent's.
class TokenRange : public TokenSource {
 public:
  TokenRange(TokenSourcePtr parent, std::int64_t begin, std::int64_t length);
  std::int64_t size() const override { return length_; }
  std::int64_t vocab_size() const override { return parent_->vocab_size(); }
  std::string name() const override;
  std::string position(std::int64_t offset) const override;

 protected:
  void fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const override;

 private:
  TokenSourcePtr parent_;
  std::int64_t begin_;
  std::int64_t length_;
};

struct TrainValidationSplit {
  TokenSourcePtr train;
  TokenSourcePtr validation;
};

// Holds out the last round(fraction * size) tokens (at least one) for validation; training windows
// never reach into them. fraction must be in (0, 1) (IoError otherwise).
TrainValidationSplit split_tail(const TokenSourcePtr& source, double validation_fraction);

}  // namespace galore::data
