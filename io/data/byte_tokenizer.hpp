// Byte-level tokens for user corpora (no external tokenizer): ids 0..255 are the bytes of the
// input, then three special tokens. galore-data writes each text file as one document
// BOS bytes... EOS; FASTA records use the same markers (fasta_tokenizer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace galore::data {

namespace byte_vocab {
inline constexpr std::int32_t kBos = 256;  // document (or FASTA record) start
inline constexpr std::int32_t kEos = 257;  // document (or FASTA record) end
inline constexpr std::int32_t kPad = 258;  // reserved for padding; never written by galore-data
inline constexpr std::int64_t kVocabSize = 259;
}  // namespace byte_vocab

// Receives tokens in chunks, in order.
using TokenSink = std::function<void(const std::int32_t* tokens, std::size_t count)>;

// Streams `path` as one document: BOS, every byte, EOS. IoError naming the file when it cannot be
// opened or read, or is empty.
void tokenize_text_file(const std::string& path, const TokenSink& sink);

}  // namespace galore::data
