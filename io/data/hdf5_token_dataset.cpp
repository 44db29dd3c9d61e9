// HDF5 token datasets through the C API: open and validate once, then one hyperslab read per
// window, converted by HDF5 to int64 so any integer storage type (signed or not) is checked alike.
#include "io/data/hdf5_token_dataset.hpp"

#include "galore/core/error.hpp"

#include <hdf5.h>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace galore::data {

static_assert(std::is_same<hid_t, std::int64_t>::value, "HDF5 >= 1.10 (hid_t is int64_t)");

namespace {

// Silences HDF5's automatic error-stack printing while we turn failures into IoErrors.
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &saved_function_, &saved_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, saved_function_, saved_data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t saved_function_ = nullptr;
  void* saved_data_ = nullptr;
};

// Owns one HDF5 identifier (dataspace, datatype, attribute) for the duration of a scope.
class Hdf5Handle {
 public:
  Hdf5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Hdf5Handle() {
    if (id_ >= 0) close_(id_);
  }
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

}  // namespace

Hdf5TokenDataset::Hdf5TokenDataset(const std::string& file, const std::string& dataset,
                                   std::int64_t vocab_size)
    : file_path_(file), dataset_path_(dataset) {
  QuietHdf5Errors quiet;
  try {
    if (H5Fis_hdf5(file.c_str()) <= 0) {
      throw IoError(file + ": missing, unreadable or not an HDF5 file");
    }
    file_id_ = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_id_ < 0) throw IoError(file + ": cannot open as HDF5");
    dataset_id_ = H5Dopen2(file_id_, dataset.c_str(), H5P_DEFAULT);
    if (dataset_id_ < 0) throw IoError(name() + ": no such dataset in " + file);

    Hdf5Handle type(H5Dget_type(dataset_id_), H5Tclose);
    if (!type.valid() || H5Tget_class(type.get()) != H5T_INTEGER) {
      throw IoError(name() + ": token ids must be stored as integers (this dataset is not)");
    }
    Hdf5Handle space(H5Dget_space(dataset_id_), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank != 1) {
      throw IoError(name() + ": token datasets must be 1-D, this one has rank " +
                    std::to_string(rank));
    }
    hsize_t extent = 0;
    H5Sget_simple_extent_dims(space.get(), &extent, nullptr);
    count_ = static_cast<std::int64_t>(extent);
    if (count_ == 0) throw IoError(name() + ": holds no tokens");

    if (H5Aexists(dataset_id_, "vocab_size") > 0) {
      Hdf5Handle attribute(H5Aopen(dataset_id_, "vocab_size", H5P_DEFAULT), H5Aclose);
      long long stored = 0;
      if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_LLONG, &stored) < 0 ||
          stored <= 0) {
        throw IoError(name() + ": attribute vocab_size is not a positive integer");
      }
      vocab_size_ = stored;
    } else if (vocab_size > 0) {
      vocab_size_ = vocab_size;
    } else {
      throw IoError(name() +
                    ": no vocab_size attribute on the dataset and no vocabulary size given");
    }
  } catch (...) {
    close();
    throw;
  }
}

Hdf5TokenDataset::~Hdf5TokenDataset() { close(); }

void Hdf5TokenDataset::close() {
  if (dataset_id_ >= 0) H5Dclose(dataset_id_);
  if (file_id_ >= 0) H5Fclose(file_id_);
  dataset_id_ = -1;
  file_id_ = -1;
}

std::string Hdf5TokenDataset::position(std::int64_t offset) const {
  return "element " + std::to_string(offset) + " of " + dataset_path_;
}

void Hdf5TokenDataset::fetch(std::int64_t offset, std::int64_t length, std::int32_t* out) const {
  if (length == 0) return;
  QuietHdf5Errors quiet;
  Hdf5Handle file_space(H5Dget_space(dataset_id_), H5Sclose);
  const hsize_t start = static_cast<hsize_t>(offset);
  const hsize_t count = static_cast<hsize_t>(length);
  Hdf5Handle memory_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  std::vector<long long> ids(static_cast<std::size_t>(length));
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) < 0 ||
      H5Dread(dataset_id_, H5T_NATIVE_LLONG, memory_space.get(), file_space.get(), H5P_DEFAULT,
              ids.data()) < 0) {
    throw IoError(name() + ": reading elements [" + std::to_string(offset) + ", " +
                  std::to_string(offset + length) + ") failed");
  }
  for (std::int64_t i = 0; i < length; ++i) {
    out[i] = checked_id(ids[static_cast<std::size_t>(i)], offset + i);
  }
}

}  // namespace galore::data
