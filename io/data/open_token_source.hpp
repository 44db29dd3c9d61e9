// One entry point from a data spec string to token sources:
//   "builtin:lorenz96"    the generated Lorenz-96 corpus (its own validation trajectories)
//   "file.h5:/dataset"    a 1-D integer dataset in an HDF5 file (when built with HDF5)
//   anything else         a token file: GLRTOKS1 shard, llm.c .bin, or raw with an explicit dtype
#pragma once

#include "io/data/lorenz96_corpus.hpp"
#include "io/data/mapped_token_file.hpp"
#include "io/data/token_source.hpp"

#include <string>

namespace galore::data {

inline constexpr char kBuiltinLorenz96[] = "builtin:lorenz96";

// A file or HDF5 dataset (builtin corpora have two splits: use open_train_validation).
// IoError naming the spec when it cannot be opened.
TokenSourcePtr open_token_source(const std::string& spec, const TokenFileOptions& options = {});

struct DataSpec {
  std::string source = kBuiltinLorenz96;
  // A separate validation file/dataset; empty: hold out the tail validation_fraction of source.
  std::string validation;
  double validation_fraction = 0.01;
  TokenFileOptions file_options;
  Lorenz96CorpusOptions lorenz96;  // for builtin:lorenz96
};

// The training and validation sources the spec names. IoError when either cannot be opened, when
// the two disagree on the vocabulary, or for an unknown builtin name (with a suggestion).
TrainValidationSplit open_train_validation(const DataSpec& spec);

}  // namespace galore::data
