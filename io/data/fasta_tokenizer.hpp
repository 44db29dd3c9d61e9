// FASTA files to byte tokens: every record becomes BOS, its sequence letters, EOS. Header lines
// ('>' ...) and comment lines (';' ...) are dropped; line breaks and blanks inside a sequence are
// removed; letters keep their case (soft-masked lowercase regions stay distinguishable).
#pragma once

#include "io/data/byte_tokenizer.hpp"

#include <string>

namespace galore::data {

// IoError naming the file and line (and column) for: a missing or unreadable file, sequence data
// before the first '>' header, a byte in a sequence line that is not a letter, '*', '-' or '.',
// and a file with no records at all.
void tokenize_fasta_file(const std::string& path, const TokenSink& sink);

}  // namespace galore::data
