// What a resumed run must share with the run that wrote the checkpoint, and the message when it
// does not. Refused: another model shape or dtype, another optimizer or optimizer setting (state
// shapes and the update rule), another seed. Allowed: everything else, e.g. more steps, the
// learning rate and schedule, gradient clipping, per-layer updates, batch sizes, evaluation,
// logging, threads and checkpoint settings.
//
// The settings are stored as typed attributes of /model, /optimizer and /run, so the check does
// not depend on parsing an old configuration file.
#pragma once

#include "galore/model/config.hpp"
#include "io/checkpoint/hdf5_file.hpp"
#include "io/config/run_config.hpp"

#include <string>
#include <vector>

namespace galore::checkpoint {

struct ResumeSetting {
  std::string group;  // "model", "optimizer" or "run": the HDF5 group holding the attribute
  std::string name;   // attribute name, e.g. "hidden_size"
  AttributeValue value;
};

// The settings of a run that a resume must match (only those that matter for its optimizer: the
// GaLore ones for galore_*, the block size for 8-bit states).
std::vector<ResumeSetting> resume_settings(const config::RunConfig& config,
                                           const ModelConfig& model);

// Stores `settings` as attributes (the groups must exist).
void write_resume_settings(Hdf5File& file, const std::vector<ResumeSetting>& settings);

// ConfigError when `file` was written with other settings, listing every difference as
// "optimizer.rank: checkpoint 8, this run 16". IoError when an attribute is missing.
void check_resume_settings(const Hdf5File& file, const std::vector<ResumeSetting>& settings);

}  // namespace galore::checkpoint
