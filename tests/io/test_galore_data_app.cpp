// galore-data end to end: the built program converts small text and FASTA files and writes the
// Lorenz-96 corpus; the shards it writes are read back with the library's reader.
#include "catch.hpp"
#include "scratch_directory.hpp"

#include "io/data/byte_tokenizer.hpp"
#include "io/data/mapped_token_file.hpp"

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#ifdef GALORE_DATA_EXE

using namespace galore::data;

namespace {

// Runs galore-data with `arguments`, stdout and stderr into `log`; returns the exit status.
int run_galore_data(const std::string& arguments, const std::string& log) {
  const std::string command =
      std::string("\"") + GALORE_DATA_EXE + "\" " + arguments + " > \"" + log + "\" 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::int32_t> shard_tokens(const std::string& path) {
  MappedTokenFile file(path);
  CHECK(file.format() == TokenFileFormat::glrtoks1);
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(file.size()));
  file.read(0, file.size(), tokens.data());
  return tokens;
}

void append_document(std::vector<std::int32_t>& tokens, const std::string& bytes) {
  tokens.push_back(byte_vocab::kBos);
  for (const char c : bytes) tokens.push_back(static_cast<unsigned char>(c));
  tokens.push_back(byte_vocab::kEos);
}

}  // namespace

TEST_CASE("galore-data text writes train and validation shards", "[app][galore-data]") {
  ScratchDirectory dir;
  write_text(dir.file("one.txt"), "The quick brown fox.\n");
  write_text(dir.file("two.txt"), "jumps over the lazy dog");
  const std::string prefix = dir.file("corpus");
  REQUIRE(run_galore_data("text \"" + dir.file("one.txt") + "\" \"" + dir.file("two.txt") +
                              "\" -o \"" + prefix + "\" --validation-fraction 0.2",
                          dir.file("log")) == 0);
  std::vector<std::int32_t> expected;
  append_document(expected, "The quick brown fox.\n");
  append_document(expected, "jumps over the lazy dog");
  const auto train = shard_tokens(prefix + ".train.tok");
  const auto validation = shard_tokens(prefix + ".val.tok");
  const auto held_out = static_cast<std::size_t>(std::llround(0.2 * expected.size()));
  CHECK(validation.size() == held_out);
  std::vector<std::int32_t> joined = train;
  joined.insert(joined.end(), validation.begin(), validation.end());
  CHECK(joined == expected);
  CHECK(MappedTokenFile(prefix + ".train.tok").vocab_size() == byte_vocab::kVocabSize);
  CHECK_FALSE(std::filesystem::exists(prefix + ".unsplit.tok"));

  REQUIRE(run_galore_data("info \"" + prefix + ".train.tok\"", dir.file("info")) == 0);
  const std::string info = read_text(dir.file("info"));
  CHECK(info.find("GLRTOKS1") != std::string::npos);
  CHECK(info.find("tokens           " + std::to_string(train.size())) != std::string::npos);
  CHECK(info.find("vocab size       259") != std::string::npos);

  write_text(dir.file("empty.txt"), "");
  CHECK(run_galore_data("text \"" + dir.file("empty.txt") + "\" -o \"" + dir.file("bad") + "\"",
                        dir.file("error")) != 0);
  CHECK(read_text(dir.file("error")).find("empty.txt") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("bad.train.tok")));
}

TEST_CASE("galore-data fasta and lorenz96 write readable shards", "[app][galore-data]") {
  ScratchDirectory dir;
  write_text(dir.file("x.fa"), ">a\nACGT\nTT\n>b\nGGA\n");
  const std::string prefix = dir.file("dna");
  REQUIRE(run_galore_data(
              "fasta \"" + dir.file("x.fa") + "\" -o \"" + prefix + "\" --validation-fraction 0",
              dir.file("log")) == 0);
  std::vector<std::int32_t> expected;
  append_document(expected, "ACGTTT");
  append_document(expected, "GGA");
  CHECK(shard_tokens(prefix + ".train.tok") == expected);
  CHECK_FALSE(std::filesystem::exists(prefix + ".val.tok"));

  write_text(dir.file("bad.fa"), ">a\nAC#T\n");
  CHECK(run_galore_data("fasta \"" + dir.file("bad.fa") + "\" -o \"" + dir.file("bad") + "\"",
                        dir.file("error")) != 0);
  CHECK(read_text(dir.file("error")).find("bad.fa:2:3") != std::string::npos);

  const std::string lorenz = dir.file("l96");
  REQUIRE(run_galore_data("lorenz96 -o \"" + lorenz +
                              "\" --train-tokens 5000 --validation-tokens 900 --variables 10",
                          dir.file("log")) == 0);
  const auto train = shard_tokens(lorenz + ".train.tok");
  CHECK(train.size() == 5000);
  CHECK(train[0] == 257);  // trajectory start
  CHECK(train[1] == 256);  // step separator, then 10 values
  CHECK(train[12] == 256);
  CHECK(shard_tokens(lorenz + ".val.tok").size() == 900);
}

#endif  // GALORE_DATA_EXE
