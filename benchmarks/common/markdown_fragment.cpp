// Markdown fragments and the common options of the C++ benchmarks (see markdown_fragment.hpp).
#include "benchmarks/common/markdown_fragment.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

namespace galore::bench {

BenchmarkOptions parse_benchmark_options(int argc, char* argv[], const char* usage) {
  BenchmarkOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      options.quick = true;
    } else if (std::strcmp(argv[i], "--markdown") == 0 && i + 1 < argc) {
      options.markdown = argv[++i];
    } else {
      std::cerr << "unknown argument '" << argv[i] << "'\nusage: " << usage << '\n';
      std::exit(2);
    }
  }
  return options;
}

std::string benchmark_command(const std::string& binary, bool quick) {
  std::string command;
  for (const char* name : {"OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OMP_PROC_BIND"}) {
    if (const char* value = std::getenv(name)) command += std::string(name) + "=" + value + " ";
  }
  return command + binary + (quick ? " --quick" : "");
}

std::string MarkdownTable::str() const {
  const auto line = [](const std::vector<std::string>& cells) {
    std::string text = "|";
    for (const std::string& c : cells) text += " " + c + " |";
    return text + "\n";
  };
  std::string text = line(header_) + "|";
  for (std::size_t i = 0; i < header_.size(); ++i) text += "---|";
  text += "\n";
  for (const auto& row : rows_) text += line(row);
  text.pop_back();
  return text;
}

MarkdownFragment::MarkdownFragment(const std::string& title, const std::string& command)
    : text_("## " + title + "\n\nCommand:\n\n    " + command + "\n") {}

void MarkdownFragment::paragraph(const std::string& text) { text_ += "\n" + text + "\n"; }

void MarkdownFragment::write(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << text_;
  if (!out.flush()) {
    std::cerr << "cannot write the Markdown fragment " << path << '\n';
    std::exit(1);
  }
  std::cout << "wrote " << path << '\n';
}

}  // namespace galore::bench
