// Token files: GLRTOKS1 shards written and read back byte for byte, raw and llm.c files, and every
// malformed-file case reported with the file name and the offset.
#include "catch.hpp"
#include "require_error.hpp"
#include "scratch_directory.hpp"

#include "galore/core/error.hpp"
#include "io/data/mapped_token_file.hpp"
#include "io/data/open_token_source.hpp"
#include "io/data/token_shard_writer.hpp"
#include "io/data/window_sampler.hpp"

#include <cstring>
#include <filesystem>

using galore::IoError;
using namespace galore::data;

namespace {

// Little-endian encoders written independently of the library's.
void put(std::vector<std::uint8_t>& bytes, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::vector<std::uint8_t> glrtoks1_header(std::uint32_t version, std::uint32_t width,
                                          std::uint64_t count, std::uint64_t vocab) {
  std::vector<std::uint8_t> bytes = {'G', 'L', 'R', 'T', 'O', 'K', 'S', '1'};
  put(bytes, version, 4);
  put(bytes, width, 4);
  put(bytes, count, 8);
  put(bytes, vocab, 8);
  return bytes;
}

std::vector<std::uint8_t> llmc_header(std::int32_t magic, std::int32_t version,
                                      std::int32_t count) {
  std::vector<std::uint8_t> bytes;
  put(bytes, static_cast<std::uint32_t>(magic), 4);
  put(bytes, static_cast<std::uint32_t>(version), 4);
  put(bytes, static_cast<std::uint32_t>(count), 4);
  bytes.resize(1024, 0);
  return bytes;
}

std::vector<std::int32_t> read_all(const TokenSource& source) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(source.size()));
  source.read(0, source.size(), tokens.data());
  return tokens;
}

}  // namespace

TEST_CASE("GLRTOKS1 shards round-trip byte for byte", "[data][shard]") {
  ScratchDirectory dir;
  for (const TokenDtype dtype : {TokenDtype::uint16, TokenDtype::uint32}) {
    const int width = dtype == TokenDtype::uint16 ? 2 : 4;
    const std::int64_t vocab = dtype == TokenDtype::uint16 ? 65536 : 100000;
    const std::vector<std::int32_t> tokens = {
        0, 1, 255, 256, 4097, 65535, static_cast<std::int32_t>(vocab - 1), 7};
    const std::string path = dir.file(std::string("shard-") + dtype_name(dtype) + ".tok");
    write_token_shard(path, tokens, dtype, vocab);

    std::vector<std::uint8_t> expected = glrtoks1_header(1, width, tokens.size(), vocab);
    for (const std::int32_t id : tokens) put(expected, static_cast<std::uint32_t>(id), width);
    CHECK(read_bytes(path) == expected);
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));

    MappedTokenFile file(path);
    CHECK(file.format() == TokenFileFormat::glrtoks1);
    CHECK(file.dtype() == dtype);
    CHECK(file.version() == 1);
    CHECK(file.size() == static_cast<std::int64_t>(tokens.size()));
    CHECK(file.vocab_size() == vocab);
    CHECK(read_all(file) == tokens);
    std::vector<std::int32_t> window(3);
    file.read(2, 3, window.data());
    CHECK(window == std::vector<std::int32_t>{255, 256, 4097});
  }
}

TEST_CASE("the streaming writer appends in pieces and refuses bad ids", "[data][shard]") {
  ScratchDirectory dir;
  const std::string path = dir.file("stream.tok");
  {
    TokenShardWriter writer(path, TokenDtype::uint16, 10);
    const std::int32_t first[] = {1, 2, 3};
    const std::int32_t second[] = {9, 0};
    writer.append(first, 3);
    writer.append(second, 2);
    require_error<IoError>(
        [&] {
          const std::int32_t bad[] = {4, 10};
          writer.append(bad, 2);
        },
        {path, "token id 10", "token offset 6", "[0, 10)"});
    writer.finish();
  }
  CHECK(read_all(MappedTokenFile(path)) == std::vector<std::int32_t>{1, 2, 3, 9, 0});

  require_error<IoError>([&] { TokenShardWriter(dir.file("big.tok"), TokenDtype::uint16, 70000); },
                         {"big.tok", "70000", "uint16"});
  const std::string abandoned = dir.file("abandoned.tok");
  {
    TokenShardWriter writer(abandoned, TokenDtype::uint32, 5);
    const std::int32_t some[] = {1, 2};
    writer.append(some, 2);
  }  // destroyed without finish(): nothing is left behind
  CHECK_FALSE(std::filesystem::exists(abandoned));
  CHECK_FALSE(std::filesystem::exists(abandoned + ".partial"));
}

TEST_CASE("headerless raw files are read with an explicit dtype", "[data][raw]") {
  ScratchDirectory dir;
  std::vector<std::uint8_t> bytes16;
  std::vector<std::uint8_t> bytes32;
  const std::vector<std::int32_t> tokens = {5, 60000, 0, 1234};
  for (const std::int32_t id : tokens) {
    put(bytes16, static_cast<std::uint32_t>(id), 2);
    put(bytes32, static_cast<std::uint32_t>(id), 4);
  }
  write_bytes(dir.file("a.bin"), bytes16);
  write_bytes(dir.file("b.bin"), bytes32);

  TokenFileOptions options;
  options.dtype = TokenDtype::uint16;
  MappedTokenFile raw16(dir.file("a.bin"), options);
  CHECK(raw16.format() == TokenFileFormat::raw);
  CHECK(raw16.vocab_size() == 65536);
  CHECK(read_all(raw16) == tokens);

  options.dtype = TokenDtype::uint32;
  options.vocab_size = 70000;
  MappedTokenFile raw32(dir.file("b.bin"), options);
  CHECK(raw32.vocab_size() == 70000);
  CHECK(read_all(raw32) == tokens);

  // The same uint32 file read as uint16 has twice the tokens; with a small vocabulary the first
  // out-of-range id is reported with its offset.
  options.dtype = TokenDtype::uint16;
  options.vocab_size = 1000;
  MappedTokenFile misread(dir.file("b.bin"), options);
  CHECK(misread.size() == 8);
  require_error<IoError>([&] { misread.validate(); },
                         {"b.bin", "token id 60000", "token offset 2", "byte offset 4"});

  require_error<IoError>([&] { MappedTokenFile(dir.file("a.bin")); },
                         {"a.bin", "unknown magic", "byte offset 0", "dtype"});
  bytes16.push_back(7);
  write_bytes(dir.file("odd.bin"), bytes16);
  options.vocab_size = 0;
  require_error<IoError>([&] { MappedTokenFile(dir.file("odd.bin"), options); },
                         {"odd.bin", "9 bytes", "uint16", "byte offset 8"});
}

TEST_CASE("llm.c .bin files (GPT-2 and LLaMA-3 headers) are recognised", "[data][llmc]") {
  ScratchDirectory dir;
  std::vector<std::uint8_t> gpt2 = llmc_header(20240520, 1, 3);
  for (const std::uint32_t id : {50256u, 11u, 0u}) put(gpt2, id, 2);
  write_bytes(dir.file("gpt2.bin"), gpt2);
  MappedTokenFile gpt2_file(dir.file("gpt2.bin"));
  CHECK(gpt2_file.format() == TokenFileFormat::llmc);
  CHECK(gpt2_file.dtype() == TokenDtype::uint16);
  CHECK(gpt2_file.header_bytes() == 1024);
  CHECK(gpt2_file.vocab_size() == 50257);
  CHECK(read_all(gpt2_file) == std::vector<std::int32_t>{50256, 11, 0});

  std::vector<std::uint8_t> llama3 = llmc_header(20240801, 7, 2);
  for (const std::uint32_t id : {128000u, 42u}) put(llama3, id, 4);
  write_bytes(dir.file("llama3.bin"), llama3);
  MappedTokenFile llama3_file(dir.file("llama3.bin"));
  CHECK(llama3_file.dtype() == TokenDtype::uint32);
  CHECK(llama3_file.vocab_size() == 128256);
  CHECK(read_all(llama3_file) == std::vector<std::int32_t>{128000, 42});

  std::vector<std::uint8_t> wrong_version = llmc_header(20240520, 3, 0);
  write_bytes(dir.file("v3.bin"), wrong_version);
  require_error<IoError>([&] { MappedTokenFile(dir.file("v3.bin")); },
                         {"v3.bin", "version 3", "byte offset 4"});
  std::vector<std::uint8_t> short_header = llmc_header(20240520, 1, 1);
  short_header.resize(100);
  write_bytes(dir.file("short.bin"), short_header);
  require_error<IoError>([&] { MappedTokenFile(dir.file("short.bin")); },
                         {"short.bin", "truncated", "100 bytes"});
}

TEST_CASE("malformed token files name the file and the offset", "[data][errors]") {
  ScratchDirectory dir;
  auto shard = [&](const std::string& name, std::vector<std::uint8_t> bytes) {
    write_bytes(dir.file(name), bytes);
    return dir.file(name);
  };
  auto tokens16 = [](std::vector<std::uint8_t> bytes, const std::vector<std::uint32_t>& ids) {
    for (const std::uint32_t id : ids) put(bytes, id, 2);
    return bytes;
  };

  SECTION("missing file") {
    require_error<IoError>([&] { MappedTokenFile(dir.file("nope.tok")); },
                           {"nope.tok", "cannot open"});
  }
  SECTION("empty file") {
    const std::string path = shard("empty.tok", {});
    require_error<IoError>([&] { MappedTokenFile{path}; }, {path, "empty"});
  }
  SECTION("header with no tokens") {
    const std::string path = shard("none.tok", glrtoks1_header(1, 2, 0, 10));
    require_error<IoError>([&] { MappedTokenFile{path}; }, {path, "no tokens"});
  }
  SECTION("truncated header") {
    auto bytes = glrtoks1_header(1, 2, 4, 10);
    bytes.resize(20);
    const std::string path = shard("cut-header.tok", bytes);
    require_error<IoError>([&] { MappedTokenFile{path}; }, {path, "truncated header", "20 bytes"});
  }
  SECTION("truncated data: count larger than the file holds") {
    const std::string path =
        shard("cut.tok", tokens16(glrtoks1_header(1, 2, 10, 100), {1, 2, 3, 4, 5, 6, 7}));
    require_error<IoError>([&] { MappedTokenFile{path}; },
                           {path, "truncated", "10 tokens", "token offset 7", "byte offset 46"});
  }
  SECTION("bytes after the last token") {
    const std::string path = shard("long.tok", tokens16(glrtoks1_header(1, 2, 2, 100), {1, 2, 3}));
    require_error<IoError>([&] { MappedTokenFile{path}; }, {path, "byte offset 36"});
  }
  SECTION("token id >= vocab") {
    const std::string path =
        shard("vocab.tok", tokens16(glrtoks1_header(1, 2, 8, 100), {1, 2, 3, 4, 5, 150, 6, 7}));
    MappedTokenFile file(path);  // ids are checked when read
    std::vector<std::int32_t> window(5);
    file.read(0, 5, window.data());  // the window before the bad id is fine
    require_error<IoError>([&] { file.read(3, 4, window.data()); },
                           {path, "token id 150", "token offset 5", "byte offset 42", "100"});
    require_error<IoError>([&] { file.validate(); }, {path, "token offset 5"});
  }
  SECTION("unknown magic") {
    auto bytes = glrtoks1_header(1, 2, 1, 10);
    bytes[7] = '9';
    const std::string ours = shard("magic.tok", tokens16(bytes, {1}));
    require_error<IoError>([&] { MappedTokenFile{ours}; },
                           {ours, "unknown magic", "GLRTOKS9", "byte offset 0"});
    const std::string other = shard("text.tok", {'h', 'e', 'l', 'l', 'o', '!', '!', '!'});
    require_error<IoError>([&] { MappedTokenFile{other}; },
                           {other, "unknown magic", "hello!!!", "byte offset 0"});
  }
  SECTION("unsupported version") {
    const std::string path = shard("v2.tok", tokens16(glrtoks1_header(2, 2, 1, 10), {1}));
    require_error<IoError>([&] { MappedTokenFile{path}; }, {path, "version 2", "byte offset 8"});
  }
  SECTION("wrong dtype") {
    const std::string path = shard("dtype.tok", tokens16(glrtoks1_header(1, 2, 2, 10), {1, 2}));
    TokenFileOptions options;
    options.dtype = TokenDtype::uint32;
    require_error<IoError>([&] { MappedTokenFile(path, options); },
                           {path, "uint16", "uint32", "byte offset 12"});
    const std::string width = shard("width.tok", tokens16(glrtoks1_header(1, 3, 2, 10), {1, 2}));
    require_error<IoError>([&] { MappedTokenFile{width}; },
                           {width, "token width 3", "byte offset 12"});
  }
  SECTION("vocabulary that does not fit the dtype") {
    const std::string path = shard("wide.tok", tokens16(glrtoks1_header(1, 2, 1, 70000), {1}));
    require_error<IoError>([&] { MappedTokenFile{path}; },
                           {path, "70000", "byte offset 24", "uint16"});
  }
  SECTION("file shorter than seq_len + 1") {
    const std::string path = shard(
        "short.tok", tokens16(glrtoks1_header(1, 2, 10, 100), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    const auto source = std::make_shared<MappedTokenFile>(path);
    require_error<IoError>(
        [&] { RandomWindowSampler(source, 10, 1); },
        {path, "10 tokens", "seq_len + 1 = 11", "token offset 10", "byte offset 52"});
    require_error<IoError>([&] { EvaluationWindows(source, 10); }, {path, "seq_len + 1 = 11"});
    CHECK_NOTHROW(RandomWindowSampler(source, 9, 1));
  }
}

TEST_CASE("data specs open files, tail splits and separate validation files", "[data][open]") {
  ScratchDirectory dir;
  std::vector<std::int32_t> tokens(1000);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>(i % 97);
  write_token_shard(dir.file("train.tok"), tokens, TokenDtype::uint16, 97);
  write_token_shard(dir.file("val.tok"), {1, 2, 3}, TokenDtype::uint16, 97);
  write_token_shard(dir.file("other.tok"), {1, 2, 3}, TokenDtype::uint16, 300);

  DataSpec spec;
  spec.source = dir.file("train.tok");
  spec.validation_fraction = 0.05;
  const TrainValidationSplit tail = open_train_validation(spec);
  REQUIRE(tail.train->size() == 950);
  REQUIRE(tail.validation->size() == 50);
  std::vector<std::int32_t> first(1);
  tail.validation->read(0, 1, first.data());
  CHECK(first[0] == tokens[950]);
  require_error<IoError>([&] { tail.train->read(900, 51, first.data()); },
                         {"train.tok", "[900, 951)", "950 tokens"});

  spec.validation = dir.file("val.tok");
  const TrainValidationSplit separate = open_train_validation(spec);
  CHECK(separate.train->size() == 1000);
  CHECK(separate.validation->size() == 3);

  spec.validation = dir.file("other.tok");
  require_error<IoError>([&] { open_train_validation(spec); }, {"other.tok", "300", "97"});

  spec.source = "builtin:lorenz69";
  require_error<IoError>([&] { open_train_validation(spec); },
                         {"builtin:lorenz69", "did you mean 'builtin:lorenz96'"});
  spec.source = "builtin:lorenz96";
  spec.lorenz96.train_tokens = 5000;
  spec.lorenz96.validation_tokens = 700;
  const TrainValidationSplit builtin = open_train_validation(spec);
  CHECK(builtin.train->size() == 5000);
  CHECK(builtin.validation->size() == 700);
  CHECK(builtin.train->vocab_size() == 258);
  CHECK(builtin.validation->name() == "builtin:lorenz96/validation");
#if !GALORE_ENABLE_HDF5
  require_error<IoError>([&] { open_token_source(dir.file("x.h5") + ":/tokens"); },
                         {"x.h5:/tokens", "GALORE_ENABLE_HDF5"});
#endif
}
