// TokenSource range and vocabulary checks, the in-memory source, sub-ranges and the tail split.
#include "io/data/token_source.hpp"

#include "galore/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace galore::data {

const char* dtype_name(TokenDtype dtype) {
  return dtype == TokenDtype::uint16 ? "uint16" : "uint32";
}

int dtype_bytes(TokenDtype dtype) { return dtype == TokenDtype::uint16 ? 2 : 4; }

std::int64_t dtype_id_limit(TokenDtype dtype) {
  return std::int64_t{1} << (8 * dtype_bytes(dtype));
}

TokenDtype parse_dtype(const std::string& name, const std::string& context) {
  if (name == "uint16") return TokenDtype::uint16;
  if (name == "uint32") return TokenDtype::uint32;
  throw IoError(context + ": unknown token dtype '" + name + "' (expected uint16 or uint32)");
}

TokenDtype smallest_dtype_for(std::int64_t vocab_size) {
  return vocab_size <= 65536 ? TokenDtype::uint16 : TokenDtype::uint32;
}

std::string TokenSource::position(std::int64_t offset) const {
  return "token offset " + std::to_string(offset);
}

void TokenSource::read(std::int64_t offset, std::int64_t length, std::int32_t* out) const {
  if (offset < 0 || length < 0 || offset > size() - length) {
    throw IoError(name() + ": window [" + std::to_string(offset) + ", " +
                  std::to_string(offset + length) + ") is outside the " + std::to_string(size()) +
                  " tokens");
  }
  fetch(offset, length, out);
}

void TokenSource::for_each_chunk(
    const std::function<void(const std::int32_t* tokens, std::int64_t count)>& visit) const {
  constexpr std::int64_t kChunk = 1 << 16;
  std::vector<std::int32_t> buffer(static_cast<std::size_t>(std::min(kChunk, size())));
  for (std::int64_t offset = 0; offset < size(); offset += kChunk) {
    const std::int64_t length = std::min(kChunk, size() - offset);
    read(offset, length, buffer.data());
    visit(buffer.data(), length);
  }
}

void TokenSource::validate() const {
  for_each_chunk([](const std::int32_t*, std::int64_t) {});
}

std::int32_t TokenSource::checked_id(std::int64_t id, std::int64_t offset) const {
  if (id < 0 || id >= vocab_size()) {
    throw IoError(name() + ": token id " + std::to_string(id) + " at " + position(offset) +
                  " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
  }
  return static_cast<std::int32_t>(id);
}

InMemoryTokenSource::InMemoryTokenSource(std::string name, std::vector<std::int32_t> tokens,
                                         std::int64_t vocab_size)
    : name_(std::move(name)), tokens_(std::move(tokens)), vocab_size_(vocab_size) {}

void InMemoryTokenSource::fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const {
  for (std::int64_t i = 0; i < length; ++i) {
    out[i] = checked_id(tokens_[static_cast<std::size_t>(offset + i)], offset + i);
  }
}

TokenRange::TokenRange(TokenSourcePtr parent, std::int64_t begin, std::int64_t length)
    : parent_(std::move(parent)), begin_(begin), length_(length) {
  if (begin < 0 || length < 0 || begin > parent_->size() - length) {
    throw IoError(parent_->name() + ": range [" + std::to_string(begin) + ", " +
                  std::to_string(begin + length) + ") is outside the " +
                  std::to_string(parent_->size()) + " tokens");
  }
}

std::string TokenRange::name() const {
  return parent_->name() + "[" + std::to_string(begin_) + ":" + std::to_string(begin_ + length_) +
         "]";
}

std::string TokenRange::position(std::int64_t offset) const {
  return parent_->position(begin_ + offset);
}

void TokenRange::fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const {
  parent_->read(begin_ + offset, length, out);  // the parent checks ids at its own offsets
}

TrainValidationSplit split_tail(const TokenSourcePtr& source, double validation_fraction) {
  if (!(validation_fraction > 0.0 && validation_fraction < 1.0)) {
    throw IoError(source->name() + ": validation fraction " + std::to_string(validation_fraction) +
                  " is not in (0, 1)");
  }
  const std::int64_t total = source->size();
  if (total < 2) {
    throw IoError(source->name() + ": " + std::to_string(total) +
                  " tokens cannot be split into training and validation parts");
  }
  const std::int64_t held_out = std::clamp<std::int64_t>(
      std::llround(validation_fraction * static_cast<double>(total)), 1, total - 1);
  return {std::make_shared<TokenRange>(source, 0, total - held_out),
          std::make_shared<TokenRange>(source, total - held_out, held_out)};
}

}  // namespace galore::data
