// galore-train: pretrain a LLaMA model with GaLore (or a plain optimizer) as a TOML run config
// says, with --section.key=value overrides. `galore-train --help` lists every key.
// `--resume auto` continues from the newest checkpoint; `--export-weights CKPT OUT` writes a
// checkpoint's weights as safetensors with HF names and exits (docs/checkpoints.md).
//
// Exit status: 0 completed (or stopped on SIGINT/SIGTERM after finishing the current step and
// writing a checkpoint), 2 invalid configuration, data or checkpoint (nothing was trained),
// 3 non-finite loss, 1 any other error.
//
// Built with MPI (GALORE_ENABLE_MPI), `mpiexec -np N galore-train ...` trains data-parallel on N
// ranks (docs/mpi.md); an error on any rank is printed with its rank and ends all ranks with the
// same exit status. Started without mpiexec it is one process, as without MPI.
//
// `--measure-memory[=N]` runs N (default 2) real steps of the configuration with one micro-batch
// per step, no evaluation and no checkpoints, into <run.output_dir>-memory, and reports the peak
// memory by component next to galore-memory's estimate (memory_measurement.hpp, docs/memory.md).
#include "galore/core/error.hpp"
#include "galore/train/memory_measurement.hpp"
#include "galore/train/training_run.hpp"
#include "io/config/run_config.hpp"
#if GALORE_ENABLE_HDF5
#include "io/checkpoint/weight_export.hpp"
#endif
#if GALORE_ENABLE_MPI
#include "galore/dist/communicator.hpp"
#endif

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) { stop_requested.store(true); }

int export_weights(const std::string& checkpoint, const std::string& output) {
#if GALORE_ENABLE_HDF5
  try {
    const galore::checkpoint::ExportSummary s =
        galore::checkpoint::export_weights(checkpoint, output);
    std::cout << "exported " << s.tensors << " " << s.dtype << " tensors (" << s.bytes
              << " bytes) of step " << s.step << " to " << s.weights_path << '\n';
    return 0;
  } catch (const galore::Error& e) {
    std::cerr << "galore-train: " << e.what() << '\n';
    return 2;
  }
#else
  std::cerr << "galore-train: cannot export " << checkpoint << " to " << output
            << ": this build has no HDF5\n";
  return 2;
#endif
}

// libgomp and OpenBLAS read their thread count and wait policy from the environment once, when
// they load, before main runs. So the run's settings are put into the environment and, when that
// changed anything, the program re-executes itself once (the second start finds them set).
void apply_process_environment(const galore::config::RunConfig& config, char* argv[]) {
  bool changed = false;
  const auto want = [&](const char* name, const std::string& value, bool override_user) {
    const char* now = std::getenv(name);
    if (now != nullptr && (!override_user || value == now)) return;
    setenv(name, value.c_str(), 1);
    changed = true;
  };
  // Idle OpenMP threads that spin steal the cores of OpenBLAS's own (pthread) threads between
  // Kokkos kernels and GEMMs: passive waiting made training steps 10x faster on 2 cores.
  want("OMP_WAIT_POLICY", "passive", false);
  // Kokkos 3.4 warns on every start when OMP_PROC_BIND is unset; binding stays the user's choice.
  want("OMP_PROC_BIND", "false", false);
  if (config.run.threads > 0) {
    const std::string n = std::to_string(config.run.threads);
    for (const char* name : {"KOKKOS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
      want(name, n, true);
    }
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: run as we are
}

}  // namespace

int main(int argc, char* argv[]) {
  CLI::App app{"galore-train: pretrain a LLaMA model with GaLore on a CPU node or a GPU"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "run configuration (TOML); defaults if omitted");
  std::vector<std::string> export_paths;
  app.add_option("--export-weights", export_paths,
                 "CHECKPOINT OUT: write the checkpoint's weights with HF LLaMA names to "
                 "OUT.safetensors, or to OUT/model.safetensors + OUT/config.json, and exit")
      ->expected(2);
  std::int64_t measure_steps = 0;
  app.add_flag("--measure-memory{2}", measure_steps,
               "run N (default 2) steps of one micro-batch without evaluation or checkpoints, "
               "into <run.output_dir>-memory, and report peak memory by component against the "
               "estimate")
      ->option_text("[=N]");
  app.allow_extras();  // --section.key=value overrides, checked against the key table below
  app.footer(
      "Overrides: --section.key=value or --section.key value (or --key value when the key "
      "name is unique). Keys:\n\n" +
      galore::config::run_config_help());
  CLI11_PARSE(app, argc, argv);

  if (!export_paths.empty()) return export_weights(export_paths[0], export_paths[1]);

  galore::config::RunConfig config;
  try {
    config = galore::config::load_run_config(config_path, app.remaining());
    if (app.count("--measure-memory") > 0) {
      config = galore::memory_measurement_config(config, measure_steps);
    }
  } catch (const galore::Error& e) {
    std::cerr << "galore-train: " << e.what() << '\n';
    return 2;
  }

  apply_process_environment(config, argv);  // may re-execute: before MPI starts
#if GALORE_ENABLE_MPI
  galore::dist::MpiSession mpi(argc, argv);  // outlives Kokkos
  std::unique_ptr<galore::dist::Communicator> world;
  if (galore::dist::world_size() > 1) world = std::make_unique<galore::dist::Communicator>();
  galore::ProcessGroup* group = world.get();
  // One rank's error would leave the others waiting in a collective: end them all.
  const auto fail = [&](const std::string& message, int status) {
    if (group != nullptr) galore::dist::abort_all("galore-train", message, status);
    std::cerr << "galore-train: " << message << '\n';
    return status;
  };
#else
  galore::ProcessGroup* group = nullptr;
  const auto fail = [](const std::string& message, int status) {
    std::cerr << "galore-train: " << message << '\n';
    return status;
  };
#endif
  Kokkos::ScopeGuard kokkos;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  try {
    const galore::RunSummary summary =
        galore::run_training(config, stop_requested, std::cout, isatty(STDOUT_FILENO) != 0, group);
    return summary.status == galore::RunSummary::Status::Diverged ? 3 : 0;
  } catch (const galore::ConfigError& e) {
    return fail(e.what(), 2);
  } catch (const galore::IoError& e) {
    return fail(e.what(), 2);
  } catch (const std::exception& e) {
    return fail(std::string("error: ") + e.what(), 1);
  }
}
