// Line-oriented FASTA reader emitting byte tokens per record.
#include "io/data/fasta_tokenizer.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace galore::data {

namespace {

bool is_sequence_byte(unsigned char c) {
  return std::isalpha(c) || c == '*' || c == '-' || c == '.';
}

std::string describe_byte(unsigned char c) {
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", c);
  return std::isprint(c) ? fmt::format("'{}' ({})", static_cast<char>(c), hex) : std::string(hex);
}

}  // namespace

void tokenize_fasta_file(const std::string& path, const TokenSink& sink) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open: " + std::strerror(errno));
  const std::int32_t bos = byte_vocab::kBos;
  const std::int32_t eos = byte_vocab::kEos;
  bool in_record = false;
  std::int64_t records = 0;
  std::int64_t line_number = 0;
  std::string line;
  std::vector<std::int32_t> tokens;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // Windows line endings
    if (!line.empty() && line[0] == '>') {
      if (in_record) sink(&eos, 1);
      sink(&bos, 1);
      in_record = true;
      ++records;
      continue;
    }
    if (!line.empty() && line[0] == ';') continue;
    tokens.clear();
    for (std::size_t column = 0; column < line.size(); ++column) {
      const auto c = static_cast<unsigned char>(line[column]);
      if (c == ' ' || c == '\t') continue;
      if (!is_sequence_byte(c)) {
        throw IoError(path + ":" + std::to_string(line_number) + ":" + std::to_string(column + 1) +
                      ": " + describe_byte(c) + " is not a sequence letter");
      }
      tokens.push_back(c);
    }
    if (tokens.empty()) continue;
    if (!in_record) {
      throw IoError(path + ":" + std::to_string(line_number) +
                    ": sequence data before the first '>' header line");
    }
    sink(tokens.data(), tokens.size());
  }
  if (file.bad()) throw IoError(path + ": read failed after line " + std::to_string(line_number));
  if (records == 0) throw IoError(path + ": no FASTA records ('>' header lines) found");
  sink(&eos, 1);
}

}  // namespace galore::data
