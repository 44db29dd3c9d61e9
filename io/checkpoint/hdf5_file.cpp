// HDF5 C API calls behind Hdf5File: every identifier is owned by a scope guard, HDF5's automatic
// error printing is silenced while a call runs, and failures become IoErrors that carry the most
// specific message of HDF5's error stack ("data error detected by Fletcher32 checksum", ...).
#include "io/checkpoint/hdf5_file.hpp"

#include "galore/core/error.hpp"

#include <hdf5.h>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace galore::checkpoint {

static_assert(std::is_same<hid_t, std::int64_t>::value, "HDF5 >= 1.10 (hid_t is int64_t)");

namespace {

// Largest chunk: Fletcher32 covers one chunk, and HDF5 chunks must stay below 4 GiB.
constexpr std::int64_t kMaxChunkBytes = 16 << 20;

// Silences HDF5's automatic error-stack printing while we turn failures into IoErrors.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &saved_function_, &saved_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, saved_function_, saved_data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t saved_function_ = nullptr;
  void* saved_data_ = nullptr;
};

// Owns one HDF5 identifier (object, dataspace, datatype, property list) for a scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

herr_t innermost_message(unsigned n, const H5E_error2_t* error, void* out) {
  if (n == 0 && error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
  return 0;
}

// " (<the most specific HDF5 message>)", or "" when the stack is empty; clears the stack.
std::string hdf5_detail() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_message, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "" : " (" + message + ")";
}

hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::Float32: return H5T_IEEE_F32LE;
    case ElementType::BFloat16: return H5T_STD_U16LE;
    case ElementType::UInt8: return H5T_STD_U8LE;
    case ElementType::Int64: return H5T_STD_I64LE;
  }
  return H5T_STD_U8LE;
}

hid_t memory_type(ElementType type) {
  switch (type) {
    case ElementType::Float32: return H5T_NATIVE_FLOAT;
    case ElementType::BFloat16: return H5T_NATIVE_UINT16;
    case ElementType::UInt8: return H5T_NATIVE_UINT8;
    case ElementType::Int64: return H5T_NATIVE_INT64;
  }
  return H5T_NATIVE_UINT8;
}

// Whether the stored HDF5 type is the one our dtype attribute claims.
bool stored_type_matches(hid_t type, ElementType expected) {
  const H5T_class_t type_class = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  switch (expected) {
    case ElementType::Float32: return type_class == H5T_FLOAT && size == 4;
    case ElementType::BFloat16:
      return type_class == H5T_INTEGER && size == 2 && H5Tget_sign(type) == H5T_SGN_NONE;
    case ElementType::UInt8:
      return type_class == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE;
    case ElementType::Int64:
      return type_class == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2;
  }
  return false;
}

// Row-major chunk of at most kMaxChunkBytes: trailing dimensions whole, then as many rows as fit.
std::vector<hsize_t> chunk_shape(const std::vector<std::int64_t>& shape, std::size_t element) {
  std::vector<hsize_t> chunk(shape.size(), 1);
  std::int64_t elements = 1;
  const std::int64_t budget = std::max<std::int64_t>(1, kMaxChunkBytes / element);
  for (std::size_t i = shape.size(); i-- > 0;) {
    const std::int64_t fit = std::max<std::int64_t>(1, budget / elements);
    chunk[i] = static_cast<hsize_t>(std::min(shape[i], fit));
    elements *= static_cast<std::int64_t>(chunk[i]);
    if (chunk[i] < static_cast<hsize_t>(shape[i])) break;  // earlier dimensions stay 1
  }
  return chunk;
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (const std::int64_t extent : shape) count *= extent;
  return count;
}

}  // namespace

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::Float32: return "float32";
    case ElementType::BFloat16: return "bfloat16";
    case ElementType::UInt8: return "uint8";
    case ElementType::Int64: return "int64";
  }
  return "?";
}

ElementType parse_element_type(const std::string& name) {
  for (const ElementType type :
       {ElementType::Float32, ElementType::BFloat16, ElementType::UInt8, ElementType::Int64}) {
    if (name == element_type_name(type)) return type;
  }
  throw IoError("unknown element type '" + name + "' (float32, bfloat16, uint8 or int64)");
}

std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::Float32: return 4;
    case ElementType::BFloat16: return 2;
    case ElementType::UInt8: return 1;
    case ElementType::Int64: return 8;
  }
  return 1;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i ? "x" : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

Hdf5File::Hdf5File(std::string path, std::int64_t id) : path_(std::move(path)), id_(id) {}

Hdf5File::Hdf5File(Hdf5File&& other) noexcept
    : path_(std::move(other.path_)), id_(std::exchange(other.id_, -1)) {}

Hdf5File::~Hdf5File() {
  if (id_ >= 0) {
    QuietErrors quiet;
    H5Fclose(id_);
  }
}

Hdf5File Hdf5File::create(const std::string& path) {
  QuietErrors quiet;
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // The 1.10 format: checksummed superblock and object headers (readable by HDF5 >= 1.10).
#if H5_VERSION_GE(1, 10, 2)
  H5Pset_libver_bounds(access.get(), H5F_LIBVER_V110, H5F_LIBVER_V110);
#else
  H5Pset_libver_bounds(access.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
#endif
  // Closing fails, rather than silently deferring, if an object were still open.
  H5Pset_fclose_degree(access.get(), H5F_CLOSE_SEMI);
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  if (id < 0) throw IoError(path + ": cannot create HDF5 file" + hdf5_detail());
  return Hdf5File(path, id);
}

Hdf5File Hdf5File::open_read_only(const std::string& path) {
  QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(path + ": missing, unreadable or not an HDF5 file");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw IoError(path + ": cannot open as HDF5" + hdf5_detail());
  return Hdf5File(path, id);
}

std::string Hdf5File::where(const std::string& object) const { return path_ + ":" + object; }

void Hdf5File::create_group(const std::string& name) {
  QuietErrors quiet;
  Handle group(H5Gcreate2(id_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) throw IoError(where(name) + ": cannot create group" + hdf5_detail());
}

std::vector<std::string> Hdf5File::members(const std::string& group) const {
  QuietErrors quiet;
  Handle id(H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!id.valid()) throw IoError(where(group) + ": no such group" + hdf5_detail());
  H5G_info_t info;
  if (H5Gget_info(id.get(), &info) < 0) {
    throw IoError(where(group) + ": cannot list the group" + hdf5_detail());
  }
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length =
        H5Lget_name_by_idx(id.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) throw IoError(where(group) + ": cannot list the group" + hdf5_detail());
    std::string name(static_cast<std::size_t>(length) + 1, '\0');
    H5Lget_name_by_idx(id.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(length));
    names.push_back(std::move(name));
  }
  return names;
}

void Hdf5File::set_attribute(const std::string& object, const std::string& name,
                             const AttributeValue& value) {
  QuietErrors quiet;
  const std::string place = where(object) + " attribute " + name;
  Handle target(H5Oopen(id_, object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!target.valid()) throw IoError(place + ": no such object" + hdf5_detail());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  hid_t stored = H5T_STD_I64LE;
  hid_t in_memory = H5T_NATIVE_INT64;
  const void* data = nullptr;
  Handle text_type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    data = integer;
  } else if (const auto* real = std::get_if<double>(&value)) {
    stored = H5T_IEEE_F64LE;
    in_memory = H5T_NATIVE_DOUBLE;
    data = real;
  } else {
    // Fixed-length text lives in the (checksummed) object header; "" still needs one byte.
    const std::string& text = std::get<std::string>(value);
    H5Tset_size(text_type.get(), std::max<std::size_t>(1, text.size()));
    H5Tset_strpad(text_type.get(), H5T_STR_NULLPAD);
    H5Tset_cset(text_type.get(), H5T_CSET_UTF8);
    stored = in_memory = text_type.get();
    data = text.empty() ? "" : text.data();
  }
  Handle attribute(
      H5Acreate2(target.get(), name.c_str(), stored, space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attribute.valid() || H5Awrite(attribute.get(), in_memory, data) < 0) {
    throw IoError(place + ": cannot write" + hdf5_detail());
  }
}

bool Hdf5File::has_attribute(const std::string& object, const std::string& name) const {
  QuietErrors quiet;
  const htri_t found = H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  if (found < 0) {
    throw IoError(where(object) + " attribute " + name + ": cannot look up" + hdf5_detail());
  }
  return found > 0;
}

AttributeValue Hdf5File::attribute(const std::string& object, const std::string& name) const {
  QuietErrors quiet;
  const std::string place = where(object) + " attribute " + name;
  Handle attribute(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  if (!attribute.valid()) throw IoError(place + ": missing" + hdf5_detail());
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class == H5T_INTEGER) {
    std::int64_t value = 0;
    if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) {
      throw IoError(place + ": cannot read" + hdf5_detail());
    }
    return value;
  }
  if (type_class == H5T_FLOAT) {
    double value = 0;
    if (H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value) < 0) {
      throw IoError(place + ": cannot read" + hdf5_detail());
    }
    return value;
  }
  if (type_class == H5T_STRING && H5Tis_variable_str(type.get()) <= 0) {
    std::string text(H5Tget_size(type.get()), '\0');
    if (H5Aread(attribute.get(), type.get(), text.data()) < 0) {
      throw IoError(place + ": cannot read" + hdf5_detail());
    }
    text.resize(text.find_last_not_of('\0') + 1);  // npos + 1 == 0 for all-padding
    return text;
  }
  throw IoError(place + ": not an integer, float or fixed-length string");
}

std::int64_t Hdf5File::integer_attribute(const std::string& object, const std::string& name) const {
  const AttributeValue value = attribute(object, name);
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return *integer;
  throw IoError(where(object) + " attribute " + name + ": expected an integer");
}

double Hdf5File::real_attribute(const std::string& object, const std::string& name) const {
  const AttributeValue value = attribute(object, name);
  if (const auto* real = std::get_if<double>(&value)) return *real;
  throw IoError(where(object) + " attribute " + name + ": expected a float");
}

std::string Hdf5File::string_attribute(const std::string& object, const std::string& name) const {
  const AttributeValue value = attribute(object, name);
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  throw IoError(where(object) + " attribute " + name + ": expected a string");
}

void Hdf5File::write_dataset(const std::string& name, ElementType type,
                             const std::vector<std::int64_t>& shape, const void* data) {
  if (shape.empty()) throw IoError(where(name) + ": datasets need at least one dimension");
  QuietErrors quiet;
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const bool empty = element_count(shape) == 0;
  if (!empty) {  // an empty dataset has no chunk (and nothing to checksum)
    const std::vector<hsize_t> chunk = chunk_shape(shape, element_size(type));
    H5Pset_chunk(create.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_fletcher32(create.get());
  }
  {
    Handle dataset(H5Dcreate2(id_, name.c_str(), file_type(type), space.get(), H5P_DEFAULT,
                              create.get(), H5P_DEFAULT),
                   H5Dclose);
    if (!dataset.valid()) throw IoError(where(name) + ": cannot create dataset" + hdf5_detail());
    if (!empty &&
        H5Dwrite(dataset.get(), memory_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      throw IoError(where(name) + ": cannot write dataset" + hdf5_detail());
    }
  }
  set_attribute(name, "dtype", std::string(element_type_name(type)));
}

DatasetInfo Hdf5File::dataset_info(const std::string& name) const {
  const ElementType type = parse_element_type(string_attribute(name, "dtype"));
  QuietErrors quiet;
  Handle dataset(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) throw IoError(where(name) + ": no such dataset" + hdf5_detail());
  Handle stored(H5Dget_type(dataset.get()), H5Tclose);
  if (!stored_type_matches(stored.get(), type)) {
    throw IoError(where(name) +
                  ": stored HDF5 type does not match dtype = " + element_type_name(type));
  }
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) throw IoError(where(name) + ": not an n-dimensional dataset" + hdf5_detail());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {type, std::vector<std::int64_t>(dims.begin(), dims.end())};
}

void Hdf5File::read_dataset(const std::string& name, ElementType type,
                            const std::vector<std::int64_t>& shape, void* data) const {
  const DatasetInfo info = dataset_info(name);
  if (info.type != type || info.shape != shape) {
    throw IoError(where(name) + ": holds " + element_type_name(info.type) + " " +
                  shape_text(info.shape) + ", expected " + element_type_name(type) + " " +
                  shape_text(shape));
  }
  if (element_count(shape) == 0) return;
  QuietErrors quiet;
  Handle dataset(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle create(H5Dget_create_plist(dataset.get()), H5Pclose);
  unsigned flags = 0;
  std::size_t values = 0;
  unsigned config = 0;
  if (H5Pget_filter_by_id2(create.get(), H5Z_FILTER_FLETCHER32, &flags, &values, nullptr, 0,
                           nullptr, &config) < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(where(name) + ": has no Fletcher32 checksum (not written by galore-kokkos?)");
  }
  if (H5Dread(dataset.get(), memory_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    throw IoError(where(name) + ": cannot read dataset" + hdf5_detail());
  }
}

void Hdf5File::flush() {
  QuietErrors quiet;
  if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0) throw IoError(path_ + ": flush failed" + hdf5_detail());
}

void Hdf5File::close() {
  QuietErrors quiet;
  const hid_t id = std::exchange(id_, -1);
  if (id >= 0 && H5Fclose(id) < 0) throw IoError(path_ + ": close failed" + hdf5_detail());
}

}  // namespace galore::checkpoint
