// The small part of HDF5 that checkpoints use, behind a C++ interface that throws IoError naming
// the file and object: groups, typed scalar attributes, and n-D datasets stored chunked with the
// Fletcher32 checksum filter, which HDF5 verifies on every read.
//
// Files are written in the HDF5 1.10 format (superblock v3, v2 object headers): every metadata
// block carries a checksum, so with Fletcher32 on the raw data a flipped byte anywhere a reader
// looks is reported instead of silently read. Strings are fixed-length (kept inside the
// checksummed object headers, not in the unchecked global heap). bfloat16 has no HDF5 type: it is
// stored as uint16 with the dataset attribute dtype = "bfloat16" (every dataset has a dtype).
// The header does not include hdf5.h, so users of the checkpoint library need no HDF5 headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace galore::checkpoint {

enum class ElementType { Float32, BFloat16, UInt8, Int64 };

// "float32", "bfloat16", "uint8", "int64" (the StateTensor dtype names) and back.
const char* element_type_name(ElementType type);
ElementType parse_element_type(const std::string& name);  // IoError for any other name
std::size_t element_size(ElementType type);

using AttributeValue = std::variant<std::int64_t, double, std::string>;

struct DatasetInfo {
  ElementType type;
  std::vector<std::int64_t> shape;
};

class Hdf5File {
 public:
  // A new, empty file (an existing one is replaced). IoError if it cannot be created.
  static Hdf5File create(const std::string& path);
  // IoError naming the file when it is missing, not HDF5, truncated or its superblock is damaged.
  static Hdf5File open_read_only(const std::string& path);

  Hdf5File(Hdf5File&& other) noexcept;
  Hdf5File& operator=(Hdf5File&& other) = delete;
  Hdf5File(const Hdf5File&) = delete;
  Hdf5File& operator=(const Hdf5File&) = delete;
  ~Hdf5File();

  const std::string& path() const { return path_; }

  void create_group(const std::string& name);
  // Names of the links in `group`, in name order.
  std::vector<std::string> members(const std::string& group) const;

  void set_attribute(const std::string& object, const std::string& name,
                     const AttributeValue& value);
  bool has_attribute(const std::string& object, const std::string& name) const;
  AttributeValue attribute(const std::string& object, const std::string& name) const;
  std::int64_t integer_attribute(const std::string& object, const std::string& name) const;
  double real_attribute(const std::string& object, const std::string& name) const;
  std::string string_attribute(const std::string& object, const std::string& name) const;

  // Writes `data` (row-major, product(shape) elements of `type`) as a chunked, Fletcher32-checked
  // dataset with a dtype attribute. Shapes have at least one dimension.
  void write_dataset(const std::string& name, ElementType type,
                     const std::vector<std::int64_t>& shape, const void* data);
  DatasetInfo dataset_info(const std::string& name) const;
  // Reads a dataset that must have exactly `type` and `shape` into `data`; IoError when it does
  // not, or when its checksum does not match.
  void read_dataset(const std::string& name, ElementType type,
                    const std::vector<std::int64_t>& shape, void* data) const;

  // Writes HDF5's buffers to the operating system (not yet to the disk: see durable_commit.hpp).
  void flush();
  // Flushes and closes; IoError when the last writes fail. The destructor closes quietly.
  void close();

 private:
  Hdf5File(std::string path, std::int64_t id);
  std::string where(const std::string& object) const;

  std::string path_;
  std::int64_t id_;  // hid_t
};

// "[2x3]", "[5]", "[]" for messages.
std::string shape_text(const std::vector<std::int64_t>& shape);

}  // namespace galore::checkpoint
