// galore-data: prepares token shards for galore-train without an external tokenizer.
//   text      text files -> byte-level tokens (one document per file)
//   fasta     FASTA records -> byte tokens of the sequence letters
//   lorenz96  the built-in Lorenz-96 corpus as shards
//   info      header, counts and token statistics of a shard, llm.c/raw file or HDF5 dataset
// Formats and the byte vocabulary: docs/data.md.
#include "galore/core/error.hpp"
#include "io/data/byte_tokenizer.hpp"
#include "io/data/fasta_tokenizer.hpp"
#include "io/data/lorenz96_corpus.hpp"
#include "io/data/mapped_token_file.hpp"
#include "io/data/open_token_source.hpp"
#include "io/data/token_shard_writer.hpp"
#include "io/data/token_statistics.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace galore::data;

struct SplitOutput {
  std::string prefix;
  double validation_fraction = 0.01;
};

std::string train_path(const std::string& prefix) { return prefix + ".train.tok"; }
std::string validation_path(const std::string& prefix) { return prefix + ".val.tok"; }

void report_shard(const std::string& path, std::int64_t tokens) {
  std::printf("wrote %s: %lld tokens\n", path.c_str(), static_cast<long long>(tokens));
}

void copy_tokens(const TokenSource& source, TokenShardWriter& writer) {
  source.for_each_chunk(
      [&](const std::int32_t* tokens, std::int64_t count) { writer.append(tokens, count); });
  writer.finish();
  report_shard(writer.path(), writer.count());
}

// Streams the byte-level tokens `produce` emits into <prefix>.train.tok and, with a validation
// fraction, <prefix>.val.tok holding the tail (the same split rule as split_tail()).
void write_byte_shards(const SplitOutput& output,
                       const std::function<void(const TokenSink&)>& produce) {
  const std::string unsplit =
      output.validation_fraction > 0 ? output.prefix + ".unsplit.tok" : train_path(output.prefix);
  {
    TokenShardWriter writer(unsplit, TokenDtype::uint16, byte_vocab::kVocabSize);
    produce([&](const std::int32_t* tokens, std::size_t count) {
      writer.append(tokens, static_cast<std::int64_t>(count));
    });
    writer.finish();
    if (output.validation_fraction == 0) {
      report_shard(writer.path(), writer.count());
      return;
    }
  }
  try {
    const auto all = std::make_shared<MappedTokenFile>(unsplit);
    const TrainValidationSplit split = split_tail(all, output.validation_fraction);
    TokenShardWriter train(train_path(output.prefix), TokenDtype::uint16, byte_vocab::kVocabSize);
    copy_tokens(*split.train, train);
    TokenShardWriter validation(validation_path(output.prefix), TokenDtype::uint16,
                                byte_vocab::kVocabSize);
    copy_tokens(*split.validation, validation);
  } catch (...) {
    std::remove(unsplit.c_str());
    throw;
  }
  std::remove(unsplit.c_str());
}

void add_split_options(CLI::App& command, SplitOutput& output) {
  command
      .add_option("-o,--output", output.prefix,
                  "output prefix: writes PREFIX.train.tok and PREFIX.val.tok")
      ->required();
  command
      .add_option("--validation-fraction", output.validation_fraction,
                  "fraction of the tokens (the tail) held out for validation; 0 writes no "
                  "validation shard")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
}

void print_info(const std::string& spec, const TokenFileOptions& options, int top) {
  const TokenSourcePtr source = open_token_source(spec, options);
  std::printf("source           %s\n", source->name().c_str());
  if (const auto* file = dynamic_cast<const MappedTokenFile*>(source.get())) {
    std::printf("format           %s", format_name(file->format()));
    if (file->format() != TokenFileFormat::raw) std::printf(" version %u", file->version());
    std::printf(" (%lld header bytes)\n", static_cast<long long>(file->header_bytes()));
    std::printf("dtype            %s\n", dtype_name(file->dtype()));
  } else {
    std::printf("format           HDF5 dataset\n");
  }
  std::printf("tokens           %lld\n", static_cast<long long>(source->size()));
  std::printf("vocab size       %lld\n", static_cast<long long>(source->vocab_size()));
  const TokenHistogram histogram = token_histogram(*source);  // also validates every id
  std::printf("ids              min %lld, max %lld, distinct %lld (all below the vocab size)\n",
              static_cast<long long>(histogram.min_id()),
              static_cast<long long>(histogram.max_id()),
              static_cast<long long>(histogram.distinct()));
  const double entropy = unigram_entropy(histogram);
  std::printf("unigram entropy  %.4f nats (%.4f bits) per token\n", entropy,
              entropy / std::log(2.0));
  std::vector<std::int64_t> ids(histogram.counts.size());
  std::iota(ids.begin(), ids.end(), 0);
  const std::size_t shown = std::min<std::size_t>(static_cast<std::size_t>(top), ids.size());
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(shown), ids.end(),
                    [&](std::int64_t a, std::int64_t b) {
                      return histogram.counts[a] > histogram.counts[b] ||
                             (histogram.counts[a] == histogram.counts[b] && a < b);
                    });
  std::printf("most frequent    ");
  for (std::size_t i = 0; i < shown && histogram.counts[ids[i]] > 0; ++i) {
    std::printf("%s%lld (%.2f%%)", i == 0 ? "" : ", ", static_cast<long long>(ids[i]),
                100.0 * static_cast<double>(histogram.counts[ids[i]]) /
                    static_cast<double>(histogram.total));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"galore-data: token shards for galore-train (formats: docs/data.md)"};
  app.require_subcommand(1);

  std::vector<std::string> inputs;
  SplitOutput text_output;
  CLI::App* text = app.add_subcommand(
      "text",
      "text files -> byte-level tokens: each file is one document BOS bytes... EOS "
      "(ids 0-255 bytes, 256 BOS, 257 EOS, 258 PAD; vocab 259)");
  text->add_option("files", inputs, "input text files")->required()->check(CLI::ExistingFile);
  add_split_options(*text, text_output);

  SplitOutput fasta_output;
  CLI::App* fasta = app.add_subcommand(
      "fasta",
      "FASTA files -> byte tokens of the sequence letters: each record is BOS letters... "
      "EOS; header and ';' comment lines dropped (vocab 259)");
  fasta->add_option("files", inputs, "input FASTA files")->required()->check(CLI::ExistingFile);
  add_split_options(*fasta, fasta_output);

  Lorenz96CorpusOptions lorenz;
  std::string lorenz_prefix;
  CLI::App* lorenz96 = app.add_subcommand(
      "lorenz96",
      "write the built-in Lorenz-96 corpus (the data of source = \"builtin:lorenz96\") "
      "as PREFIX.train.tok and PREFIX.val.tok");
  lorenz96->add_option("-o,--output", lorenz_prefix, "output prefix")->required();
  lorenz96->add_option("--variables", lorenz.variables, "number of variables N")
      ->capture_default_str()
      ->check(CLI::Range(4, 1024));
  lorenz96->add_option("--levels", lorenz.levels, "quantization levels (value tokens)")
      ->capture_default_str()
      ->check(CLI::Range(2, 65534));
  lorenz96->add_option("--train-tokens", lorenz.train_tokens, "training tokens")
      ->capture_default_str();
  lorenz96->add_option("--validation-tokens", lorenz.validation_tokens, "validation tokens")
      ->capture_default_str();
  lorenz96->add_option("--seed", lorenz.seed, "seed of the initial conditions")
      ->capture_default_str();

  std::string info_spec;
  std::string info_dtype;
  TokenFileOptions info_options;
  int info_top = 10;
  CLI::App* info = app.add_subcommand(
      "info",
      "print the header, token count, dtype, vocabulary and token statistics of a token "
      "file or HDF5 dataset (file.h5:/dataset), checking every id");
  info->add_option("source", info_spec, "token file, or file.h5:/dataset")->required();
  info->add_option("--dtype", info_dtype, "token dtype of a headerless raw file")
      ->check(CLI::IsMember({"uint16", "uint32"}));
  info->add_option("--vocab-size", info_options.vocab_size,
                   "vocabulary of raw/llm.c files and HDF5 datasets without a vocab_size "
                   "attribute (0: see docs/data.md)")
      ->capture_default_str();
  info->add_option("--top", info_top, "number of most frequent ids to list")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));

  CLI11_PARSE(app, argc, argv);

  try {
    if (*text) {
      write_byte_shards(text_output, [&](const TokenSink& sink) {
        for (const std::string& path : inputs) tokenize_text_file(path, sink);
      });
    } else if (*fasta) {
      write_byte_shards(fasta_output, [&](const TokenSink& sink) {
        for (const std::string& path : inputs) tokenize_fasta_file(path, sink);
      });
    } else if (*lorenz96) {
      const TokenCorpus corpus = generate_lorenz96_corpus(lorenz);
      const TokenDtype dtype = smallest_dtype_for(corpus.vocab_size);
      write_token_shard(train_path(lorenz_prefix), corpus.train, dtype, corpus.vocab_size);
      report_shard(train_path(lorenz_prefix), static_cast<std::int64_t>(corpus.train.size()));
      write_token_shard(validation_path(lorenz_prefix), corpus.validation, dtype,
                        corpus.vocab_size);
      report_shard(validation_path(lorenz_prefix),
                   static_cast<std::int64_t>(corpus.validation.size()));
      std::printf("vocab size %lld; validation unigram entropy %.4f nats\n",
                  static_cast<long long>(corpus.vocab_size),
                  unigram_entropy(token_histogram(corpus.validation, corpus.vocab_size)));
    } else if (*info) {
      if (!info_dtype.empty()) info_options.dtype = parse_dtype(info_dtype, "--dtype");
      print_info(info_spec, info_options, info_top);
    }
  } catch (const galore::Error& error) {
    std::fflush(stdout);  // what was printed before the error stays above it
    std::cerr << "galore-data: error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
