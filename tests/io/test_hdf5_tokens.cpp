// HDF5 token datasets: written here with the HDF5 C API, read back through open_token_source(),
// and every malformed dataset reported by name.
#include "catch.hpp"
#include "require_error.hpp"
#include "scratch_directory.hpp"

#include "galore/core/error.hpp"
#include "io/data/open_token_source.hpp"
#include "io/data/window_sampler.hpp"

#include <hdf5.h>

using galore::IoError;
using namespace galore::data;

namespace {

// Writes a dataset of `dims` with the given native type; optionally a vocab_size attribute.
template <class T>
void write_dataset(hid_t file, const char* name, hid_t type, const std::vector<T>& values,
                   std::vector<hsize_t> dims, long long vocab_attribute = 0) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t dataset = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  REQUIRE(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  if (vocab_attribute > 0) {
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attribute =
        H5Acreate2(dataset, "vocab_size", H5T_NATIVE_LLONG, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, H5T_NATIVE_LLONG, &vocab_attribute);
    H5Aclose(attribute);
    H5Sclose(scalar);
  }
  H5Dclose(dataset);
  H5Pclose(lcpl);
  H5Sclose(space);
}

std::vector<std::int32_t> read_all(const TokenSource& source) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(source.size()));
  source.read(0, source.size(), tokens.data());
  return tokens;
}

}  // namespace

TEST_CASE("HDF5 token datasets round-trip and are checked", "[data][hdf5]") {
  ScratchDirectory dir;
  const std::string path = dir.file("tokens.h5");
  const std::vector<std::uint16_t> ids16 = {0, 7, 65535, 300, 12, 9, 1, 2, 3, 4};
  const std::vector<std::int32_t> ids32 = {5, 4, 3, 2, 1, -1, 0};
  const std::vector<float> floats = {1.0f, 2.0f};
  const std::vector<std::int32_t> grid = {1, 2, 3, 4};
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  write_dataset(file, "/corpus/train", H5T_NATIVE_UINT16, ids16, {ids16.size()}, 65536);
  write_dataset(file, "/signed", H5T_NATIVE_INT32, ids32, {ids32.size()});
  write_dataset(file, "/floats", H5T_NATIVE_FLOAT, floats, {floats.size()}, 10);
  write_dataset(file, "/grid", H5T_NATIVE_INT32, grid, {2, 2}, 10);
  write_dataset(file, "/empty", H5T_NATIVE_INT32, std::vector<std::int32_t>{}, {0}, 10);
  H5Fclose(file);

  const TokenSourcePtr train = open_token_source(path + ":/corpus/train");
  CHECK(train->name() == path + ":/corpus/train");
  CHECK(train->size() == 10);
  CHECK(train->vocab_size() == 65536);
  CHECK(read_all(*train) == std::vector<std::int32_t>(ids16.begin(), ids16.end()));
  std::vector<std::int32_t> window(3);
  train->read(2, 3, window.data());
  CHECK(window == std::vector<std::int32_t>{65535, 300, 12});
  RandomWindowSampler sampler(train, 4, 3);  // windows through hyperslabs
  std::vector<std::int32_t> inputs(4);
  std::vector<std::int32_t> targets(4);
  sampler.next_batch(1, inputs.data(), targets.data());
  const std::int64_t start = sampler.window_offset(0);
  for (int i = 0; i < 4; ++i) CHECK(inputs[i] == ids16[start + i]);
  CHECK(targets[3] == ids16[start + 4]);

  // Without a vocab_size attribute the caller's vocabulary applies; negative ids are refused.
  require_error<IoError>([&] { open_token_source(path + ":/signed"); }, {"/signed", "vocab_size"});
  TokenFileOptions options;
  options.vocab_size = 6;
  const TokenSourcePtr signed_ids = open_token_source(path + ":/signed", options);
  std::vector<std::int32_t> first_five(5);
  signed_ids->read(0, 5, first_five.data());
  CHECK(first_five == std::vector<std::int32_t>{5, 4, 3, 2, 1});
  require_error<IoError>([&] { signed_ids->validate(); },
                         {path + ":/signed", "token id -1", "element 5"});
  options.vocab_size = 4;
  const TokenSourcePtr small_vocab = open_token_source(path + ":/signed", options);
  require_error<IoError>([&] { small_vocab->validate(); }, {"token id 5", "element 0"});

  require_error<IoError>([&] { open_token_source(path + ":/floats"); }, {"/floats", "integer"});
  require_error<IoError>([&] { open_token_source(path + ":/grid"); }, {"/grid", "1-D", "rank 2"});
  require_error<IoError>([&] { open_token_source(path + ":/empty"); }, {"/empty", "no tokens"});
  require_error<IoError>([&] { open_token_source(path + ":/missing"); },
                         {"/missing", "no such dataset"});
  require_error<IoError>([&] { open_token_source(dir.file("absent.h5") + ":/tokens"); },
                         {"absent.h5", "not an HDF5 file"});
}
