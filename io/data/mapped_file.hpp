// A whole file mapped read-only into memory (POSIX mmap): token shards are read in place, so a
// 10 GB corpus costs page cache, not resident memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace galore::data {

class MappedFile {
 public:
  // Throws IoError naming the path when it cannot be opened, stat'ed or mapped. An empty file maps
  // to size() == 0 and data() == nullptr (mmap refuses zero lengths).
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::int64_t size_ = 0;
};

}  // namespace galore::data
