// fsync + rename + directory fsync with POSIX calls (std::filesystem has no fsync).
#include "io/checkpoint/durable_commit.hpp"

#include "galore/core/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace galore::checkpoint {

void sync_to_disk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open to sync: " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0) throw IoError(path + ": fsync failed: " + std::strerror(error));
}

void commit_file(const std::string& temporary, const std::string& final_path) {
  sync_to_disk(temporary);
  if (std::rename(temporary.c_str(), final_path.c_str()) != 0) {
    throw IoError("cannot rename " + temporary + " to " + final_path + ": " + std::strerror(errno));
  }
  const std::filesystem::path directory = std::filesystem::path(final_path).parent_path();
  sync_to_disk(directory.empty() ? "." : directory.string());
}

}  // namespace galore::checkpoint
