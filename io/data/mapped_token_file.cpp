// Recognises and validates GLRTOKS1, llm.c and raw token files over a read-only mapping.
#include "io/data/mapped_token_file.hpp"

#include "galore/core/error.hpp"
#include "io/data/little_endian.hpp"
#include "io/data/token_shard_format.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace galore::data {

namespace {

namespace layout = shard_format;

std::string at_byte(std::int64_t offset) { return "byte offset " + std::to_string(offset); }

// The first bytes of an unrecognised file, printable for an error message.
std::string describe_magic(const std::uint8_t* bytes, std::int64_t size) {
  std::string text;
  std::string hex;
  for (std::int64_t i = 0; i < std::min<std::int64_t>(size, 8); ++i) {
    text += std::isprint(bytes[i]) ? static_cast<char>(bytes[i]) : '.';
    char byte[4];
    std::snprintf(byte, sizeof(byte), "%02x", bytes[i]);
    hex += byte;
  }
  return "'" + text + "' (0x" + hex + ")";
}

}  // namespace

const char* format_name(TokenFileFormat format) {
  switch (format) {
    case TokenFileFormat::glrtoks1: return "GLRTOKS1";
    case TokenFileFormat::llmc: return "llm.c";
    case TokenFileFormat::raw: return "raw";
  }
  return "unknown";
}

MappedTokenFile::MappedTokenFile(const std::string& path, const TokenFileOptions& options)
    : file_(path) {
  if (file_.size() == 0) throw IoError(path + ": file is empty (0 bytes)");
  const std::uint8_t* bytes = file_.data();
  // "GLRTOK" prefix: one of ours, possibly a newer family member this build must refuse by name.
  if (file_.size() >= 6 && std::memcmp(bytes, layout::kMagic, 6) == 0) {
    parse_glrtoks1(options);
  } else if (file_.size() >= 4 &&
             (load_little_endian<std::int32_t>(bytes) == layout::kLlmcGpt2Magic ||
              load_little_endian<std::int32_t>(bytes) == layout::kLlmcLlama3Magic)) {
    parse_llmc(options);
  } else if (options.dtype) {
    parse_raw(options);
  } else {
    throw IoError(path + ": unknown magic " + describe_magic(bytes, file_.size()) + " at " +
                  at_byte(0) + " (expected \"GLRTOKS1\" or an llm.c header " +
                  std::to_string(layout::kLlmcGpt2Magic) + "/" +
                  std::to_string(layout::kLlmcLlama3Magic) +
                  "); a headerless raw token file needs an explicit dtype (uint16 or uint32)");
  }
  if (count_ == 0) throw IoError(path + ": holds no tokens");
}

void MappedTokenFile::parse_glrtoks1(const TokenFileOptions& options) {
  const std::string& path = file_.path();
  const std::uint8_t* bytes = file_.data();
  format_ = TokenFileFormat::glrtoks1;
  header_bytes_ = layout::kHeaderBytes;
  if (file_.size() < layout::kMagicBytes) {
    throw IoError(path + ": truncated header: " + std::to_string(file_.size()) +
                  " bytes, a GLRTOKS1 header needs " + std::to_string(layout::kHeaderBytes));
  }
  if (std::memcmp(bytes, layout::kMagic, layout::kMagicBytes) != 0) {
    throw IoError(path + ": unknown magic " + describe_magic(bytes, file_.size()) + " at " +
                  at_byte(0) + " (this build reads \"GLRTOKS1\")");
  }
  if (file_.size() < layout::kHeaderBytes) {
    throw IoError(path + ": truncated header: " + std::to_string(file_.size()) +
                  " bytes, a GLRTOKS1 header needs " + std::to_string(layout::kHeaderBytes));
  }
  version_ = load_little_endian<std::uint32_t>(bytes + layout::kVersionOffset);
  if (version_ != layout::kVersion) {
    throw IoError(path + ": unsupported GLRTOKS1 version " + std::to_string(version_) + " at " +
                  at_byte(layout::kVersionOffset) + " (this build reads version " +
                  std::to_string(layout::kVersion) + ")");
  }
  const auto width = load_little_endian<std::uint32_t>(bytes + layout::kWidthOffset);
  if (width != 2 && width != 4) {
    throw IoError(path + ": token width " + std::to_string(width) + " at " +
                  at_byte(layout::kWidthOffset) + " is neither 2 (uint16) nor 4 (uint32)");
  }
  dtype_ = width == 2 ? TokenDtype::uint16 : TokenDtype::uint32;
  check_requested_dtype(options, layout::kWidthOffset);
  const auto count = load_little_endian<std::uint64_t>(bytes + layout::kCountOffset);
  const auto vocab = load_little_endian<std::uint64_t>(bytes + layout::kVocabOffset);
  if (vocab == 0 || vocab > static_cast<std::uint64_t>(dtype_id_limit(dtype_))) {
    throw IoError(path + ": vocabulary size " + std::to_string(vocab) + " at " +
                  at_byte(layout::kVocabOffset) + " does not fit " + dtype_name(dtype_) +
                  " tokens");
  }
  if (count > static_cast<std::uint64_t>(file_.size())) {
    throw IoError(path + ": token count " + std::to_string(count) + " at " +
                  at_byte(layout::kCountOffset) + " exceeds the file size " +
                  std::to_string(file_.size()) + " (truncated file?)");
  }
  count_ = static_cast<std::int64_t>(count);
  vocab_size_ = static_cast<std::int64_t>(vocab);
  check_payload_size();
}

void MappedTokenFile::parse_llmc(const TokenFileOptions& options) {
  const std::string& path = file_.path();
  const std::uint8_t* bytes = file_.data();
  format_ = TokenFileFormat::llmc;
  header_bytes_ = layout::kLlmcHeaderBytes;
  if (file_.size() < layout::kLlmcHeaderBytes) {
    throw IoError(path + ": truncated llm.c header: " + std::to_string(file_.size()) +
                  " bytes, the header needs " + std::to_string(layout::kLlmcHeaderBytes));
  }
  const auto magic = load_little_endian<std::int32_t>(bytes);
  const auto version = load_little_endian<std::int32_t>(bytes + 4);
  const bool gpt2 = magic == layout::kLlmcGpt2Magic;
  const std::int32_t expected_version =
      gpt2 ? layout::kLlmcGpt2Version : layout::kLlmcLlama3Version;
  if (version != expected_version) {
    throw IoError(path + ": unsupported llm.c version " + std::to_string(version) + " at " +
                  at_byte(4) + " for magic " + std::to_string(magic) + " (expected " +
                  std::to_string(expected_version) + ")");
  }
  version_ = static_cast<std::uint32_t>(version);
  dtype_ = gpt2 ? TokenDtype::uint16 : TokenDtype::uint32;
  check_requested_dtype(options, 4);
  const auto count = load_little_endian<std::int32_t>(bytes + 8);
  if (count < 0) {
    throw IoError(path + ": negative token count " + std::to_string(count) + " at " + at_byte(8));
  }
  count_ = count;
  vocab_size_ = options.vocab_size > 0 ? options.vocab_size
                                       : (gpt2 ? layout::kLlmcGpt2Vocab : layout::kLlmcLlama3Vocab);
  check_payload_size();
}

void MappedTokenFile::parse_raw(const TokenFileOptions& options) {
  format_ = TokenFileFormat::raw;
  dtype_ = *options.dtype;
  const int width = dtype_bytes(dtype_);
  if (file_.size() % width != 0) {
    throw IoError(file_.path() + ": " + std::to_string(file_.size()) +
                  " bytes is not a whole number of " + dtype_name(dtype_) + " tokens (" +
                  std::to_string(file_.size() % width) + " stray byte(s) at " +
                  at_byte(file_.size() - file_.size() % width) + "); wrong dtype?");
  }
  count_ = file_.size() / width;
  vocab_size_ = options.vocab_size > 0 ? options.vocab_size : dtype_id_limit(dtype_);
}

void MappedTokenFile::check_requested_dtype(const TokenFileOptions& options,
                                            std::int64_t header_offset) const {
  if (options.dtype && *options.dtype != dtype_) {
    throw IoError(file_.path() + ": the " + format_name(format_) + " header (" +
                  at_byte(header_offset) + ") says " + dtype_name(dtype_) + " tokens but " +
                  dtype_name(*options.dtype) + " was requested");
  }
}

void MappedTokenFile::check_payload_size() const {
  const std::int64_t width = dtype_bytes(dtype_);
  const std::int64_t expected = header_bytes_ + count_ * width;
  if (file_.size() < expected) {
    const std::int64_t whole_tokens = (file_.size() - header_bytes_) / width;
    throw IoError(file_.path() + ": truncated: the header says " + std::to_string(count_) +
                  " tokens (" + std::to_string(expected) + " bytes) but the file has " +
                  std::to_string(file_.size()) + " bytes; the data ends at token offset " +
                  std::to_string(whole_tokens) + " (" + at_byte(file_.size()) + ")");
  }
  if (file_.size() > expected) {
    throw IoError(file_.path() + ": " + std::to_string(file_.size() - expected) +
                  " unexpected byte(s) after the last of " + std::to_string(count_) +
                  " tokens, at " + at_byte(expected) + " (header count wrong?)");
  }
}

std::string MappedTokenFile::position(std::int64_t offset) const {
  return "token offset " + std::to_string(offset) + " (" +
         at_byte(header_bytes_ + offset * dtype_bytes(dtype_)) + ")";
}

void MappedTokenFile::fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const {
  const std::uint8_t* base = file_.data() + header_bytes_;
  if (dtype_ == TokenDtype::uint16) {
    for (std::int64_t i = 0; i < length; ++i) {
      out[i] = checked_id(load_little_endian<std::uint16_t>(base + 2 * (offset + i)), offset + i);
    }
  } else {
    for (std::int64_t i = 0; i < length; ++i) {
      out[i] = checked_id(load_little_endian<std::uint32_t>(base + 4 * (offset + i)), offset + i);
    }
  }
}

}  // namespace galore::data
