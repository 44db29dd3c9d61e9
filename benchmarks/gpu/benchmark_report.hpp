// Rows of the GPU benchmark: each kernel's time, its rate (TFLOP/s or GB/s) and that rate as a
// fraction of the peak measured in the same run (cuBLASLt bf16 GEMM, device-to-device copy).
// Each row is printed as it is added (a table) and all are written as JSON at the end.
#pragma once

#include <string>
#include <vector>

namespace galore::kernels::cuda::bench {

struct BenchmarkRow {
  std::string section;
  std::string name;
  double ms;
  double rate;       // in `unit`
  std::string unit;  // "TFLOP/s" or "GB/s" (or "" for a time-only row)
  double of_peak;    // rate / the measured peak of the same unit, 0 when not applicable
};

class BenchmarkReport {
 public:
  void add(BenchmarkRow row);
  void note(const std::string& key, const std::string& value);
  void write_json(const std::string& path) const;

 private:
  std::vector<BenchmarkRow> rows_;
  std::vector<std::pair<std::string, std::string>> notes_;
};

}  // namespace galore::kernels::cuda::bench
