// Token ids stored as a 1-D integer dataset in an HDF5 file (for scientific pipelines that already
// write HDF5), read window by window through hyperslab selections. Built only with
// GALORE_ENABLE_HDF5 (the compile definition GALORE_ENABLE_HDF5=1 is then public on
// galore_io_data).
#pragma once

#include "io/data/token_source.hpp"

#include <cstdint>
#include <string>

namespace galore::data {

class Hdf5TokenDataset : public TokenSource {
 public:
  // Opens `dataset` (e.g. "/tokens") in `file`. The vocabulary is the dataset's integer attribute
  // "vocab_size" when present, else `vocab_size`; with neither, an IoError. Also IoError for a
  // missing file or dataset, a dataset that is not 1-D, not of an integer type, or empty.
  Hdf5TokenDataset(const std::string& file, const std::string& dataset,
                   std::int64_t vocab_size = 0);
  ~Hdf5TokenDataset() override;
  Hdf5TokenDataset(const Hdf5TokenDataset&) = delete;
  Hdf5TokenDataset& operator=(const Hdf5TokenDataset&) = delete;

  std::int64_t size() const override { return count_; }
  std::int64_t vocab_size() const override { return vocab_size_; }
  std::string name() const override { return file_path_ + ":" + dataset_path_; }
  std::string position(std::int64_t offset) const override;

 protected:
  void fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const override;

 private:
  void close();

  std::string file_path_;
  std::string dataset_path_;
  std::int64_t file_id_ = -1;  // hid_t (int64_t since HDF5 1.10); hdf5.h stays out of here
  std::int64_t dataset_id_ = -1;
  std::int64_t count_ = 0;
  std::int64_t vocab_size_ = 0;
};

}  // namespace galore::data
