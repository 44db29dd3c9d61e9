// Table and JSON output of the GPU benchmark (see benchmark_report.hpp).
#include "benchmarks/gpu/benchmark_report.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace galore::kernels::cuda::bench {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void BenchmarkReport::add(BenchmarkRow row) {
  const std::string peak =
      row.of_peak > 0.0 ? std::to_string(static_cast<int>(row.of_peak * 100.0 + 0.5)) + "% of peak"
                        : std::string();
  std::printf("%-12s %-56s %10.3f ms %9.2f %-8s %s\n", row.section.c_str(), row.name.c_str(),
              row.ms, row.rate, row.unit.c_str(), peak.c_str());
  std::fflush(stdout);  // a run stopped by a time limit keeps what it printed
  rows_.push_back(std::move(row));
}

void BenchmarkReport::note(const std::string& key, const std::string& value) {
  std::printf("%s: %s\n", key.c_str(), value.c_str());
  std::fflush(stdout);
  notes_.emplace_back(key, value);
}

void BenchmarkReport::write_json(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "{\n  \"notes\": {";
  for (std::size_t i = 0; i < notes_.size(); ++i) {
    out << (i ? ",\n    " : "\n    ") << json_string(notes_[i].first) << ": "
        << json_string(notes_[i].second);
  }
  out << "\n  },\n  \"rows\": [";
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const BenchmarkRow& r = rows_[i];
    out << (i ? ",\n    " : "\n    ") << "{\"section\": " << json_string(r.section)
        << ", \"name\": " << json_string(r.name) << ", \"ms\": " << r.ms << ", \"rate\": " << r.rate
        << ", \"unit\": " << json_string(r.unit) << ", \"of_peak\": " << r.of_peak << "}";
  }
  out << "\n  ]\n}\n";
}

}  // namespace galore::kernels::cuda::bench
