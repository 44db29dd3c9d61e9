// A benchmark's section of benchmarks/RESULTS.md (benchmarks/results/<name>.md): a heading, the
// command that produced it, paragraphs and tables, written with `--markdown FILE`
// (benchmarks/run_benchmarks.py assembles the sections). Also the command-line options every C++
// benchmark takes: [--quick] [--markdown FILE].
#pragma once

#include <string>
#include <vector>

namespace galore::bench {

struct BenchmarkOptions {
  bool quick = false;
  std::string markdown;  // empty: no fragment
};

// Parses [--quick] [--markdown FILE] (after Kokkos has taken its own options); prints `usage` and
// exits with status 2 on anything else.
BenchmarkOptions parse_benchmark_options(int argc, char* argv[], const char* usage);

// "OMP_WAIT_POLICY=... OMP_NUM_THREADS=... OMP_PROC_BIND=... <binary> [--quick]" with this
// process's values: the command line a fragment shows.
std::string benchmark_command(const std::string& binary, bool quick);

class MarkdownTable {
 public:
  explicit MarkdownTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

class MarkdownFragment {
 public:
  // "## title", then "Command:" and the command as a code block.
  MarkdownFragment(const std::string& title, const std::string& command);
  void paragraph(const std::string& text);  // a block of its own (text may hold line breaks)
  void table(const MarkdownTable& table) { paragraph(table.str()); }
  // Writes the fragment; exits with status 1 and a message naming the file on failure.
  void write(const std::string& path) const;

 private:
  std::string text_;
};

}  // namespace galore::bench
