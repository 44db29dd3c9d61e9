// galore-train: pretrain a LLaMA model with GaLore (or a plain optimizer) as a TOML run config
// says, with --section.key=value overrides. `galore-train --help` lists every key.
//
// Exit status: 0 completed (or stopped on SIGINT/SIGTERM after finishing the current step),
// 2 invalid configuration or data (nothing was trained), 3 non-finite loss, 1 any other error.
#include "galore/core/error.hpp"
#include "galore/train/training_run.hpp"
#include "io/config/run_config.hpp"

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) { stop_requested.store(true); }

// Kokkos 3.4 and 4.x both read KOKKOS_NUM_THREADS at initialisation; OpenBLAS reads its own.
void set_thread_count(std::int64_t threads) {
  if (threads <= 0) return;
  const std::string n = std::to_string(threads);
  setenv("KOKKOS_NUM_THREADS", n.c_str(), 1);
  setenv("OMP_NUM_THREADS", n.c_str(), 1);
  setenv("OPENBLAS_NUM_THREADS", n.c_str(), 1);
}

}  // namespace

int main(int argc, char* argv[]) {
  CLI::App app{"galore-train: pretrain a LLaMA model with GaLore on a CPU node or a GPU"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "run configuration (TOML); defaults if omitted");
  app.allow_extras();  // --section.key=value overrides, checked against the key table below
  app.footer("Overrides: --section.key=value or --section.key value (or --key value when the key "
             "name is unique). Keys:\n\n" +
             galore::config::run_config_help());
  CLI11_PARSE(app, argc, argv);

  galore::config::RunConfig config;
  try {
    config = galore::config::load_run_config(config_path, app.remaining());
  } catch (const galore::Error& e) {
    std::cerr << "galore-train: " << e.what() << '\n';
    return 2;
  }

  set_thread_count(config.run.threads);
  // Kokkos 3.4 warns on every start when OMP_PROC_BIND is unset; binding is the user's choice.
  setenv("OMP_PROC_BIND", "false", 0);
  // Idle OpenMP threads that spin steal the cores of OpenBLAS's own (pthread) threads between
  // Kokkos kernels and GEMMs: passive waiting made training steps 10x faster on 2 cores.
  setenv("OMP_WAIT_POLICY", "passive", 0);
  Kokkos::ScopeGuard kokkos;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  try {
    const galore::RunSummary summary =
        galore::run_training(config, stop_requested, std::cout, isatty(STDOUT_FILENO) != 0);
    return summary.status == galore::RunSummary::Status::Diverged ? 3 : 0;
  } catch (const galore::ConfigError& e) {
    std::cerr << "galore-train: " << e.what() << '\n';
    return 2;
  } catch (const galore::IoError& e) {
    std::cerr << "galore-train: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "galore-train: error: " << e.what() << '\n';
    return 1;
  }
}
