// Listing, naming and pruning checkpoint files.
#include "io/checkpoint/checkpoint_directory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

namespace galore::checkpoint {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".h5";
constexpr const char* kTemporarySuffix = ".h5.tmp";
constexpr std::size_t kStepDigits = 12;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The step of "step-<digits><suffix>", or -1 for any other name.
std::int64_t step_of(const std::string& name, const std::string& suffix) {
  const std::string prefix = kPrefix;
  if (name.size() != prefix.size() + kStepDigits + suffix.size() ||
      name.compare(0, prefix.size(), prefix) != 0 || !ends_with(name, suffix)) {
    return -1;
  }
  const std::string digits = name.substr(prefix.size(), kStepDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoll(digits);
}

}  // namespace

std::string checkpoint_directory(const std::string& output_dir) {
  return (fs::path(output_dir) / "checkpoints").string();
}

std::string checkpoint_file_name(std::int64_t step) {
  return fmt::format("{}{:0{}}{}", kPrefix, step, kStepDigits, kSuffix);
}

std::vector<CheckpointEntry> list_checkpoints(const std::string& directory) {
  std::vector<CheckpointEntry> entries;
  std::error_code error;
  if (!fs::is_directory(directory, error)) return entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    const std::int64_t step = step_of(entry.path().filename().string(), kSuffix);
    if (step >= 0 && entry.is_regular_file()) entries.push_back({step, entry.path().string()});
  }
  std::sort(entries.begin(), entries.end(),
            [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step > b.step; });
  return entries;
}

std::vector<std::string> prune_checkpoints(const std::string& directory, std::int64_t keep) {
  std::vector<std::string> removed;
  const std::vector<CheckpointEntry> entries = list_checkpoints(directory);
  for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(keep, 0));
       i < entries.size(); ++i) {
    std::error_code error;
    if (fs::remove(entries[i].path, error)) removed.push_back(entries[i].path);
  }
  return removed;
}

std::vector<std::string> remove_interrupted_writes(const std::string& directory) {
  std::vector<std::string> removed;
  std::error_code error;
  if (!fs::is_directory(directory, error)) return removed;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (step_of(name, kTemporarySuffix) >= 0 && fs::remove(entry.path(), error)) {
      removed.push_back(entry.path().string());
    }
  }
  return removed;
}

std::string set_aside_checkpoints(const std::string& directory) {
  const std::vector<CheckpointEntry> entries = list_checkpoints(directory);
  if (entries.empty()) return "";
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  fs::path aside = fs::path(directory) / (std::string("earlier-run-") + stamp);
  for (int n = 2; fs::exists(aside); ++n) {
    aside = fs::path(directory) / fmt::format("earlier-run-{}-{}", stamp, n);
  }
  fs::create_directories(aside);
  for (const CheckpointEntry& entry : entries) {
    fs::rename(entry.path, aside / fs::path(entry.path).filename());
  }
  return aside.string();
}

}  // namespace galore::checkpoint
