// The checkpoints of a run: <run.output_dir>/checkpoints/step-<12-digit step>.h5. Names sort by
// step; anything else in the directory is left alone, except the writer's own temporary files
// (step-*.h5.tmp), which only a writer that died mid-write leaves behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace galore::checkpoint {

struct CheckpointEntry {
  std::int64_t step;
  std::string path;
};

// <output_dir>/checkpoints
std::string checkpoint_directory(const std::string& output_dir);
// "step-000000001200.h5"
std::string checkpoint_file_name(std::int64_t step);

// The checkpoints in `directory`, newest (highest step) first; empty if it does not exist.
std::vector<CheckpointEntry> list_checkpoints(const std::string& directory);

// Deletes all but the `keep` newest checkpoints; returns the deleted paths.
std::vector<std::string> prune_checkpoints(const std::string& directory, std::int64_t keep);

// Deletes temporary files of interrupted writes; returns the deleted paths.
std::vector<std::string> remove_interrupted_writes(const std::string& directory);

// Moves every checkpoint into a new subdirectory earlier-run-<UTC time> of `directory` (out of
// the way of listing and pruning, nothing deleted); returns its path, "" when there was none.
std::string set_aside_checkpoints(const std::string& directory);

}  // namespace galore::checkpoint
