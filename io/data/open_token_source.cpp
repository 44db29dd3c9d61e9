// Dispatch from data spec strings to MappedTokenFile, Hdf5TokenDataset or the built-in corpus.
#include "io/data/open_token_source.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"

#if GALORE_ENABLE_HDF5
#include "io/data/hdf5_token_dataset.hpp"
#endif

#include <memory>

namespace galore::data {

namespace {

constexpr char kBuiltinPrefix[] = "builtin:";

bool is_builtin(const std::string& spec) { return spec.rfind(kBuiltinPrefix, 0) == 0; }

// "file.h5:/group/dataset" -> position of the ':' (npos for plain files).
std::size_t hdf5_separator(const std::string& spec) {
  const std::size_t colon = spec.rfind(":/");
  return colon == 0 ? std::string::npos : colon;
}

TrainValidationSplit builtin_corpus(const DataSpec& spec) {
  if (spec.source != kBuiltinLorenz96) {
    throw IoError("unknown built-in corpus '" + spec.source + "'" +
                  did_you_mean(spec.source, {kBuiltinLorenz96}) +
                  "; available: " + kBuiltinLorenz96);
  }
  TokenCorpus corpus = generate_lorenz96_corpus(spec.lorenz96);
  return {std::make_shared<InMemoryTokenSource>(spec.source + "/train", std::move(corpus.train),
                                                corpus.vocab_size),
          std::make_shared<InMemoryTokenSource>(spec.source + "/validation",
                                                std::move(corpus.validation), corpus.vocab_size)};
}

}  // namespace

TokenSourcePtr open_token_source(const std::string& spec, const TokenFileOptions& options) {
  if (spec.empty()) throw IoError("empty data source path");
  if (is_builtin(spec)) {
    throw IoError(spec + ": built-in corpora are opened with open_train_validation()");
  }
  const std::size_t separator = hdf5_separator(spec);
  if (separator != std::string::npos) {
#if GALORE_ENABLE_HDF5
    return std::make_shared<Hdf5TokenDataset>(spec.substr(0, separator), spec.substr(separator + 1),
                                              options.vocab_size);
#else
    throw IoError(spec + ": HDF5 token datasets need a build with -DGALORE_ENABLE_HDF5=ON");
#endif
  }
  return std::make_shared<MappedTokenFile>(spec, options);
}

TrainValidationSplit open_train_validation(const DataSpec& spec) {
  if (is_builtin(spec.source)) return builtin_corpus(spec);
  TokenSourcePtr source = open_token_source(spec.source, spec.file_options);
  if (spec.validation.empty()) return split_tail(source, spec.validation_fraction);
  TokenSourcePtr validation = open_token_source(spec.validation, spec.file_options);
  if (validation->vocab_size() != source->vocab_size()) {
    throw IoError(validation->name() + ": vocabulary size " +
                  std::to_string(validation->vocab_size()) + " differs from the training data's " +
                  std::to_string(source->vocab_size()) + " (" + source->name() + ")");
  }
  return {source, validation};
}

}  // namespace galore::data
