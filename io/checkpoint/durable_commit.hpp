// Crash-safe replacement of a file: the new content is written to a temporary file in the same
// directory, forced to the disk, and renamed over the final name; the directory entry is then
// forced too. rename() within one file system is atomic, so after a crash at any moment the final
// name holds either the previous complete file or the new complete file, never a mix.
#pragma once

#include <string>

namespace galore::checkpoint {

// fsync() of a file or directory; IoError naming the path on failure.
void sync_to_disk(const std::string& path);

// Syncs `temporary`, renames it to `final_path` (same directory) and syncs that directory.
void commit_file(const std::string& temporary, const std::string& final_path);

}  // namespace galore::checkpoint
