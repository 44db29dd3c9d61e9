// GLRTOKS1 writer: header placeholder, little-endian tokens, count patched in at the end, then an
// atomic rename so readers never see a partial shard under the final name.
#include "io/data/token_shard_writer.hpp"

#include "galore/core/error.hpp"
#include "io/data/little_endian.hpp"
#include "io/data/token_shard_format.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace galore::data {

TokenShardWriter::TokenShardWriter(std::string path, TokenDtype dtype, std::int64_t vocab_size)
    : path_(std::move(path)),
      partial_path_(path_ + ".partial"),
      dtype_(dtype),
      vocab_size_(vocab_size) {
  if (vocab_size < 1 || vocab_size > dtype_id_limit(dtype)) {
    throw IoError(path_ + ": vocabulary size " + std::to_string(vocab_size) + " does not fit " +
                  dtype_name(dtype) + " tokens (1 to " + std::to_string(dtype_id_limit(dtype)) +
                  ")");
  }
  file_ = std::fopen(partial_path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw IoError(partial_path_ + ": cannot create: " + std::strerror(errno));
  }
  // The header is written by finish(), once the count is known.
  const std::uint8_t placeholder[shard_format::kHeaderBytes] = {};
  if (std::fwrite(placeholder, 1, sizeof(placeholder), file_) != sizeof(placeholder)) {
    const int error = errno;
    std::fclose(std::exchange(file_, nullptr));
    std::remove(partial_path_.c_str());
    throw IoError(partial_path_ + ": write failed: " + std::strerror(error));
  }
}

TokenShardWriter::~TokenShardWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(partial_path_.c_str());
  }
}

void TokenShardWriter::write_bytes(const void* bytes, std::size_t size) {
  if (std::fwrite(bytes, 1, size, file_) != size) {
    throw IoError(partial_path_ + ": write failed: " + std::strerror(errno));
  }
}

void TokenShardWriter::append(const std::int32_t* tokens, std::int64_t count) {
  if (file_ == nullptr) throw IoError(path_ + ": append after finish()");
  const int width = dtype_bytes(dtype_);
  encoded_.resize(static_cast<std::size_t>(count * width));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t id = tokens[i];
    if (id < 0 || id >= vocab_size_) {
      throw IoError(path_ + ": token id " + std::to_string(id) + " at token offset " +
                    std::to_string(count_ + i) + " is outside the vocabulary [0, " +
                    std::to_string(vocab_size_) + ")");
    }
    std::uint8_t* slot = encoded_.data() + i * width;
    if (dtype_ == TokenDtype::uint16) {
      store_little_endian(static_cast<std::uint16_t>(id), slot);
    } else {
      store_little_endian(static_cast<std::uint32_t>(id), slot);
    }
  }
  write_bytes(encoded_.data(), encoded_.size());
  count_ += count;
}

void TokenShardWriter::finish() {
  if (file_ == nullptr) throw IoError(path_ + ": finish() called twice");
  std::uint8_t header[shard_format::kHeaderBytes] = {};
  std::memcpy(header, shard_format::kMagic, shard_format::kMagicBytes);
  store_little_endian(shard_format::kVersion, header + shard_format::kVersionOffset);
  store_little_endian(static_cast<std::uint32_t>(dtype_bytes(dtype_)),
                      header + shard_format::kWidthOffset);
  store_little_endian(static_cast<std::uint64_t>(count_), header + shard_format::kCountOffset);
  store_little_endian(static_cast<std::uint64_t>(vocab_size_), header + shard_format::kVocabOffset);
  if (std::fseek(file_, 0, SEEK_SET) != 0) {
    throw IoError(partial_path_ + ": seek failed: " + std::strerror(errno));
  }
  write_bytes(header, sizeof(header));
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fclose(file) != 0) {
    std::remove(partial_path_.c_str());
    throw IoError(partial_path_ + ": close failed: " + std::strerror(errno));
  }
  if (std::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    std::remove(partial_path_.c_str());
    throw IoError(path_ + ": cannot move " + partial_path_ +
                  " into place: " + std::strerror(error));
  }
}

void write_token_shard(const std::string& path, const std::vector<std::int32_t>& tokens,
                       TokenDtype dtype, std::int64_t vocab_size) {
  TokenShardWriter writer(path, dtype, vocab_size);
  writer.append(tokens.data(), static_cast<std::int64_t>(tokens.size()));
  writer.finish();
}

}  // namespace galore::data
