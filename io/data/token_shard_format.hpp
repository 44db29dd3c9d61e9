// The GLRTOKS1 token shard layout (docs/data.md), shared by the writer and the reader:
//
//   byte  0  char[8]  magic "GLRTOKS1"
//   byte  8  uint32   format version (1)
//   byte 12  uint32   bytes per token: 2 (uint16) or 4 (uint32)
//   byte 16  uint64   token count
//   byte 24  uint64   vocabulary size (every id is below it)
//   byte 32  tokens, little-endian, nothing after the last one
//
// and the llm.c .bin header it also reads: 256 little-endian int32, [0] magic, [1] version,
// [2] token count; GPT-2 files (magic 20240520, version 1) hold uint16 tokens, LLaMA-3 files
// (magic 20240801, version 7) uint32 tokens.
#pragma once

#include <cstdint>

namespace galore::data::shard_format {

inline constexpr char kMagic[] = "GLRTOKS1";  // the 8 characters, without the terminator, on disk
inline constexpr std::int64_t kMagicBytes = 8;
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::int64_t kVersionOffset = 8;
inline constexpr std::int64_t kWidthOffset = 12;
inline constexpr std::int64_t kCountOffset = 16;
inline constexpr std::int64_t kVocabOffset = 24;
inline constexpr std::int64_t kHeaderBytes = 32;

inline constexpr std::int64_t kLlmcHeaderBytes = 256 * 4;
inline constexpr std::int32_t kLlmcGpt2Magic = 20240520;
inline constexpr std::int32_t kLlmcGpt2Version = 1;
inline constexpr std::int64_t kLlmcGpt2Vocab = 50257;
inline constexpr std::int32_t kLlmcLlama3Magic = 20240801;
inline constexpr std::int32_t kLlmcLlama3Version = 7;
inline constexpr std::int64_t kLlmcLlama3Vocab = 128256;

}  // namespace galore::data::shard_format
