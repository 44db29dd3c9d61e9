// Byte-level tokenization of text and FASTA files: exact token streams and error locations.
#include "catch.hpp"
#include "require_error.hpp"
#include "scratch_directory.hpp"

#include "galore/core/error.hpp"
#include "io/data/byte_tokenizer.hpp"
#include "io/data/fasta_tokenizer.hpp"

using galore::IoError;
using namespace galore::data;

namespace {

template <class Tokenize>
std::vector<std::int32_t> collect(Tokenize tokenize, const std::string& path) {
  std::vector<std::int32_t> tokens;
  tokenize(path, [&](const std::int32_t* chunk, std::size_t count) {
    tokens.insert(tokens.end(), chunk, chunk + count);
  });
  return tokens;
}

std::vector<std::int32_t> document(const std::string& bytes) {
  std::vector<std::int32_t> tokens = {byte_vocab::kBos};
  for (const char c : bytes) tokens.push_back(static_cast<unsigned char>(c));
  tokens.push_back(byte_vocab::kEos);
  return tokens;
}

}  // namespace

TEST_CASE("text files become BOS bytes EOS", "[tokenizer]") {
  ScratchDirectory dir;
  const std::string text = std::string("héllo\n\tworld\0!", 15);  // UTF-8 and a NUL byte
  write_text(dir.file("a.txt"), text);
  const auto tokens = collect(tokenize_text_file, dir.file("a.txt"));
  CHECK(tokens == document(text));
  CHECK(tokens[2] == 0xC3);  // the UTF-8 lead byte of 'é'

  std::string large(200000, 'x');  // several read chunks
  large[131071] = 'y';
  write_text(dir.file("large.txt"), large);
  CHECK(collect(tokenize_text_file, dir.file("large.txt")) == document(large));

  write_text(dir.file("empty.txt"), "");
  require_error<IoError>([&] { collect(tokenize_text_file, dir.file("empty.txt")); },
                         {"empty.txt", "empty"});
  require_error<IoError>([&] { collect(tokenize_text_file, dir.file("missing.txt")); },
                         {"missing.txt", "cannot open"});
}

TEST_CASE("FASTA records become BOS letters EOS", "[tokenizer]") {
  ScratchDirectory dir;
  write_text(dir.file("seqs.fa"),
             ";old-style comment\n"
             ">seq1 description\n"
             "ACGT\n"
             "acg t\r\n"
             "\n"
             ">seq2\n"
             ">seq3\n"
             "MK*-.\n");
  const auto tokens = collect(tokenize_fasta_file, dir.file("seqs.fa"));
  std::vector<std::int32_t> expected = document("ACGTacgt");
  for (const auto& part : {document(""), document("MK*-.")}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  CHECK(tokens == expected);

  write_text(dir.file("orphan.fa"), "ACGT\n>seq\nAC\n");
  require_error<IoError>([&] { collect(tokenize_fasta_file, dir.file("orphan.fa")); },
                         {"orphan.fa:1", "before the first '>'"});
  write_text(dir.file("bad.fa"), ">seq\nACGT\nAC9T\n");
  require_error<IoError>([&] { collect(tokenize_fasta_file, dir.file("bad.fa")); },
                         {"bad.fa:3:3", "'9'"});
  write_text(dir.file("none.fa"), "\n\n");
  require_error<IoError>([&] { collect(tokenize_fasta_file, dir.file("none.fa")); },
                         {"none.fa", "no FASTA records"});
  require_error<IoError>([&] { collect(tokenize_fasta_file, dir.file("missing.fa")); },
                         {"missing.fa", "cannot open"});
}
