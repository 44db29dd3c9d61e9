#include "galore/train/training_run.hpp"

#include "galore/core/error.hpp"
#include "galore/core/timed_process_group.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/optim/optimizer.hpp"
#include "galore/train/batch_loader.hpp"
#include "galore/train/batch_recorder.hpp"
#include "galore/train/evaluation.hpp"
#include "galore/train/memory_accounting.hpp"
#include "galore/train/memory_report.hpp"
#include "galore/train/progress_log.hpp"
#include "galore/train/resident_memory.hpp"
#include "galore/train/step_progress.hpp"
#include "galore/train/train_step.hpp"
#include "galore/train/training_flops.hpp"
#include "galore/train/weight_checksum.hpp"
#include "io/checkpoint/checkpoint.hpp"  // TrainProgress: header-only, in every build
#include "io/config/lr_schedule.hpp"
#include "io/data/open_token_source.hpp"
#include "io/data/token_statistics.hpp"
#if GALORE_ENABLE_HDF5
#include "io/checkpoint/checkpoint_manager.hpp"
#endif

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

namespace galore {

namespace {

namespace fs = std::filesystem;

ModelConfig resolve_model_config(const config::RunConfig& c, std::int64_t data_vocab) {
  ModelConfig model = c.model.config_json.empty() ? model_preset(c.model.preset)
                                                  : load_model_config(c.model.config_json);
  if (c.model.vocab_size > 0) model.vocab_size = static_cast<int>(c.model.vocab_size);
  if (data_vocab > model.vocab_size) {
    throw ConfigError(fmt::format(
        "model.vocab_size: the model has {} token ids but the data uses {} (set model.vocab_size "
        "or use a model config with a larger vocabulary)",
        model.vocab_size, data_vocab));
  }
  if (c.batch.seq_len > model.max_sequence_length) {
    throw ConfigError(fmt::format("batch.seq_len: {} exceeds the model's max_sequence_length {}",
                                  c.batch.seq_len, model.max_sequence_length));
  }
  model.validate();
  return model;
}

data::DataSpec data_spec(const config::RunConfig& c) {
  data::DataSpec spec;
  spec.source = c.data.source;
  spec.validation = c.data.validation;
  spec.validation_fraction = c.data.validation_fraction;
  if (c.data.dtype != "auto") {
    spec.file_options.dtype = data::parse_dtype(c.data.dtype, "data.dtype");
  }
  return spec;
}

// The accounting of galore-memory for this run's model, optimizer and batch shape.
MemoryBreakdown estimated_memory(const config::RunConfig& c, const ModelConfig& model, int ranks) {
  const OptimizerChoice choice = parse_optimizer_config(optimizer_config(c));
  MemoryQuery query;
  query.model = model;
  query.method = parse_training_method(c.optimizer.name);
  query.rank = choice.galore ? static_cast<int>(c.optimizer.rank) : 1;
  query.batch = static_cast<int>(c.batch.micro_batch);
  query.seq = static_cast<int>(c.batch.seq_len);
  query.bf16 = c.model.dtype == "bf16";
  query.per_layer = c.optimizer.per_layer;
  query.accumulation_steps = static_cast<int>(c.accumulation_steps(ranks));
  query.quantization_block_size = static_cast<int>(c.optimizer.block_size);
  query.projection = choice.proj_type;
  query.activation_checkpointing = c.model.activation_checkpointing;
  return estimate_training_memory(query);
}

void write_text_file(const fs::path& path, const std::string& text) {
  // Write-then-rename: a reader never sees half a file.
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << text;
    if (!out.flush()) throw IoError("cannot write " + partial.string());
  }
  fs::rename(partial, path);
}

// A resumed run continues metrics.jsonl: lines of steps after the checkpoint (written before the
// process stopped, and about to be repeated) are dropped, as is a half-written last line.
void keep_metrics_up_to(const fs::path& path, std::int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_discarded() && entry.contains("step") &&
        entry["step"].get<std::int64_t>() <= step) {
      kept += line + "\n";
    }
  }
  write_text_file(path, kept);
}

// Steps expected to take longer than this report their progress while they run.
constexpr double kProgressSeconds = 10.0;

template <class T>
RunSummary train(const config::RunConfig& c, const ModelConfig& model_config,
                 const data::TrainValidationSplit& split, const std::atomic<bool>& stop_requested,
                 std::ostream& rank_console, bool terminal, ProcessGroup* group) {
  const ExecSpace space;
  const int rank = group != nullptr ? group->rank() : 0;
  const int ranks = group != nullptr ? group->size() : 1;
  // Rank 0 writes the output directory and talks; the other ranks' replicas stay silent.
  const bool writer = rank == 0;
  std::ostream silent(nullptr);
  std::ostream& console = writer ? rank_console : silent;
  const fs::path out_dir = c.run.output_dir;
  if (writer) {
    fs::create_directories(out_dir);
    write_text_file(out_dir / "config.toml", config::to_toml(c));
  }

  const auto seed = static_cast<std::uint64_t>(c.run.seed);
  const int seq = static_cast<int>(c.batch.seq_len);
  const std::int64_t accumulation = c.accumulation_steps(ranks);
  const std::int64_t total_steps = c.total_steps();
  const std::int64_t tokens_per_step = c.batch.global_batch * seq;

  LlamaModelOptions model_options;
  model_options.activation_checkpointing = c.model.activation_checkpointing;
  LlamaModel<T> model(model_config, seed, model_options);
  Optimizer<T> optimizer(optimizer_config(c), model.parameters());
  // Every step is split by phase (docs: "Where the time goes"); collectives through timed_group.
  PhaseTimer phases(space);
  std::optional<TimedProcessGroup> timed_group;
  if (group != nullptr) timed_group.emplace(*group, &phases);
  TrainStep<T> train_step(model, optimizer, c.optimizer.per_layer, c.optimizer.grad_clip,
                          timed_group ? &*timed_group : nullptr);
  train_step.set_phase_timer(&phases);
  BatchLoader loader(c.batch.micro_batch, seq, static_cast<int>(accumulation));
  data::RandomWindowSampler sampler(split.train, seq, seed);
  const data::EvaluationWindows eval_windows(split.validation, seq, c.run.eval_tokens);
  const config::LrSchedule schedule = config::lr_schedule(c);
  const auto timed_evaluation = [&] {
    const PhaseScope phase(&phases, Phase::Evaluation);
    return evaluate(space, model, loader, eval_windows, timed_group ? &*timed_group : nullptr);
  };

  // Resuming happens before the log exists (it decides whether metrics.jsonl is continued).
  std::optional<ProgressLog> log;
  const auto report = [&](const std::string& text) {
    if (log) {
      log->message(text);
    } else {
      console << text << std::endl;
    }
  };
  checkpoint::TrainProgress progress;
  progress.sampler = sampler.state();
#if GALORE_ENABLE_HDF5
  checkpoint::TrainingState<T> state{c, model_config, model.parameters(), optimizer};
  // Rank 0 resumes first (it may move an earlier run's checkpoints aside or rename corrupt
  // ones); the other ranks then load the checkpoint it settled on. Only rank 0 writes.
  std::optional<checkpoint::CheckpointManager<T>> checkpoints;
  const auto resume = [&] {
    checkpoints.emplace(c, state, report);
    if (const auto resumed = checkpoints->resume(space)) progress = *resumed;
  };
  if (writer) resume();
  if (group != nullptr) group->barrier();
  if (!writer) resume();
#else
  if (c.checkpoint.resume != "none") {
    throw ConfigError("checkpoint.resume = \"" + c.checkpoint.resume +
                      "\": this build has no HDF5, so it has no checkpoints to resume");
  }
  if (c.checkpoint.at_start) {
    throw ConfigError(
        "checkpoint.at_start = true: this build has no HDF5, so it has no checkpoints");
  }
  report("checkpoints: none (this build has no HDF5)");
#endif
  const std::int64_t start_step = progress.step;
  progress.total_steps = total_steps;
  sampler.restore(progress.sampler);
  train_step.restore_clip_reference_norm(progress.clip_reference_norm);
  const fs::path metrics_path = writer ? out_dir / "metrics.jsonl" : fs::path("/dev/null");
  if (start_step > 0 && writer) keep_metrics_up_to(metrics_path, start_step);
  log.emplace(console, terminal, metrics_path.string(), c.run.log_interval, start_step > 0);
  const auto check_replicas = [&](const std::string& when) {
    if (group == nullptr) return;
    group->require_identical(weights_checksum(space, model.parameters()), "weights " + when);
  };
  if (start_step > 0) check_replicas(fmt::format("after resuming at step {}", start_step));

  RunSummary summary;
  summary.unigram_entropy = data::unigram_entropy(data::token_histogram(*split.validation));
  const double peak_flops = measure_gemm_peak_flops(space);
  const double flops_per_token = training_flops_per_token(model_config, seq);

  log->message(fmt::format(
      "model: {} parameters ({} layers, hidden {}, heads {}, vocab {}), {} weights",
      model_config.parameter_count(), model_config.num_hidden_layers, model_config.hidden_size,
      model_config.num_attention_heads, model_config.vocab_size, dtype_name<T>()));
  log->message(fmt::format(
      "optimizer: {}{} | lr {} | {} steps x {} tokens ({} micro-batch(es) of {} x {}) | "
      "{} threads | GEMM peak {:.1f} GFLOP/s",
      c.optimizer.name, c.optimizer.per_layer ? " (per-layer updates)" : "", c.optimizer.lr,
      total_steps, tokens_per_step, accumulation, c.batch.micro_batch, seq,
      ExecSpace().concurrency(), peak_flops / 1e9));
  log->message(fmt::format("data: train {} ({} tokens), validation {} ({} tokens, {} windows)",
                           split.train->name(), split.train->size(), split.validation->name(),
                           split.validation->size(), eval_windows.count()));
  if (group != nullptr) {
    log->message(
        fmt::format("data parallel: {} ranks x {} micro-batch(es) of {} | gradients averaged {}",
                    ranks, accumulation, c.batch.micro_batch,
                    train_step.projected_averaging() ? "projected (GaLore weights: r x n or m x r)"
                                                     : "in full"));
  }
  std::uint64_t bytes_before = group != nullptr ? group->bytes_reduced() : 0;
  std::uint64_t refresh_step_bytes = 0, plain_step_bytes = 0;  // the largest seen of each kind

#if GALORE_ENABLE_HDF5
  if (writer && start_step == 0 && c.checkpoint.at_start) checkpoints->write(space, progress);
#endif
  std::optional<BatchRecorder> recorder;
  if (writer && !c.run.record_batches.empty()) {
    recorder.emplace((out_dir / c.run.record_batches).string(), total_steps - start_step,
                     accumulation, c.batch.micro_batch, seq);
  }
  phases.lap();  // setup (building, resuming, the GEMM peak) is not part of the run's split
  PhaseSeconds run_phases;
  if (start_step == 0) {
    progress.initial_validation_loss = timed_evaluation();
    log->eval({0, progress.initial_validation_loss, summary.unigram_entropy});
  } else if (start_step >= total_steps) {
    log->message(fmt::format("the checkpoint is at step {}, run.steps is {}: nothing to train",
                             start_step, total_steps));
  }
  summary.initial_validation_loss = progress.initial_validation_loss;
  summary.steps_completed = start_step;
  summary.last_train_loss = progress.last_train_loss;
  // run.session_steps ends this process early, as a stop request would.
  const std::int64_t session_end = c.run.session_steps > 0
                                       ? std::min(total_steps, start_step + c.run.session_steps)
                                       : total_steps;

  StepProgress step_progress(*log, static_cast<int>(model.parameters().size()), kProgressSeconds);
  optimizer.set_update_observer([&](const std::string& name, bool refreshed) {
    step_progress.parameter_updated(name, refreshed);
  });
  const double forward_backward_seconds = tokens_per_step * flops_per_token / peak_flops;
  if (start_step < total_steps && forward_backward_seconds > kProgressSeconds) {
    log->message(fmt::format(
        "step {}: forward and backward take about {:.0f} s at the GEMM peak; the parameters' "
        "updates are reported as they happen",
        start_step + 1, forward_backward_seconds));
  }

  Kokkos::Timer run_timer;
  const double seconds_before = progress.train_seconds;
  for (std::int64_t s = start_step; s < total_steps; ++s) {
    run_phases += phases.lap();  // between steps: logging, checkpoints, evaluation
    Kokkos::Timer step_timer;
    step_progress.begin(s + 1);
    const double lr = schedule.at(s);
    phases.enter(Phase::Io);
    const std::vector<MicroBatch>& micro_batches = loader.next(sampler, rank, ranks);
    phases.leave(Phase::Io);
    const StepOutcome outcome = train_step.run(space, s, static_cast<float>(lr), micro_batches);
    space.fence();
    const double seconds = step_timer.seconds();
    if (recorder) {  // not part of the step's tokens/s
      const PhaseScope phase(&phases, Phase::Io);
      recorder->record(micro_batches);
    }
    const PhaseSeconds step_phases = phases.lap();
    run_phases += step_phases;
    if (group != nullptr) {
      const std::uint64_t sent = group->bytes_reduced() - bytes_before;
      bytes_before = group->bytes_reduced();
      auto& largest = outcome.report.refreshed > 0 ? refresh_step_bytes : plain_step_bytes;
      largest = std::max(largest, sent);
    }
    if (!std::isfinite(outcome.loss)) {
      summary.status = RunSummary::Status::Diverged;
      summary.message =
          fmt::format("non-finite training loss ({}) at step {}; stopping", outcome.loss, s + 1);
      log->message(summary.message);
      break;
    }
    summary.steps_completed = s + 1;
    summary.last_train_loss = outcome.loss;
    progress.step = s + 1;
    progress.tokens_seen += tokens_per_step;
    progress.sampler = sampler.state();
    progress.clip_reference_norm = train_step.clip_reference_norm();
    progress.last_train_loss = outcome.loss;
    progress.train_seconds = seconds_before + run_timer.seconds();

    StepMetrics m;
    m.step = s + 1;
    m.total_steps = total_steps;
    m.loss = outcome.loss;
    m.lr = lr;
    m.grad_norm = outcome.grad_norm;
    m.tokens_per_second = tokens_per_step / seconds;
    m.mfu = m.tokens_per_second * flops_per_token / peak_flops;
    m.resident_bytes = current_resident_bytes();
    m.eta_seconds = run_timer.seconds() / (s + 1 - start_step) * (total_steps - s - 1);
    m.skipped_parameters = static_cast<int>(outcome.report.skipped.size());
    m.phase_seconds = step_phases;
    log->step(m);
    for (const std::string& name : outcome.report.skipped) {
      log->message(
          fmt::format("step {}: non-finite gradient in {}; its update was skipped", s + 1, name));
    }
#if GALORE_ENABLE_HDF5
    if (writer && checkpoints->due(s + 1)) {
      const PhaseScope phase(&phases, Phase::Io);
      checkpoints->write(space, progress);
    }
#endif
    if (c.run.consistency_check_interval > 0 && (s + 1) % c.run.consistency_check_interval == 0) {
      check_replicas(fmt::format("after step {}", s + 1));
    }

    const bool stop = group != nullptr ? group->any(stop_requested.load()) : stop_requested.load();
    if (stop) {
      summary.status = RunSummary::Status::Stopped;
      summary.message = fmt::format("stop requested: finished step {} of {}", s + 1, total_steps);
      log->message(summary.message);
      break;
    }
    if (s + 1 == session_end && session_end < total_steps) {
      summary.status = RunSummary::Status::Stopped;
      summary.message = fmt::format(
          "run.session_steps = {}: stopping after step {} of {} (continue with --resume auto)",
          c.run.session_steps, s + 1, total_steps);
      log->message(summary.message);
      break;
    }
    if (c.run.eval_interval > 0 && (s + 1) % c.run.eval_interval == 0 && s + 1 < total_steps) {
      log->eval({s + 1, timed_evaluation(), summary.unigram_entropy});
    }
  }
#if GALORE_ENABLE_HDF5
  // Before the final evaluation: after SIGTERM a batch system grants little time.
  if (writer && summary.status != RunSummary::Status::Diverged && c.checkpoint.at_exit &&
      summary.steps_completed > start_step) {
    const PhaseScope phase(&phases, Phase::Io);
    checkpoints->write(space, progress);
  }
#endif

  summary.final_validation_loss = std::numeric_limits<double>::quiet_NaN();
  if (summary.status != RunSummary::Status::Diverged) {
    summary.final_validation_loss = timed_evaluation();
    log->eval({summary.steps_completed, summary.final_validation_loss, summary.unigram_entropy});
  }
  run_phases += phases.lap();
  const MeasuredMemory memory = measure_memory(model, optimizer);
  summary.peak_resident_bytes = memory.process_peak_resident;
  const MemoryBreakdown estimate = estimated_memory(c, model_config, ranks);
  log->message(
      "memory by component, measured (peak) and estimated as galore-memory does; the process "
      "peak also holds the runtime, libraries, data and unmetered temporaries:\n" +
      memory_report_table(memory, estimate));
  log->message(fmt::format(
      "done: {} ({} steps, {:.1f} s) | validation loss {:.4f} -> {:.4f} | unigram baseline {:.4f}",
      status_name(summary.status), summary.steps_completed, run_timer.seconds(),
      summary.initial_validation_loss, summary.final_validation_loss, summary.unigram_entropy));
  log->message("time by phase: " + phase_split_line(run_phases));

  nlohmann::json json{{"status", status_name(summary.status)},
                      {"message", summary.message},
                      {"steps_completed", summary.steps_completed},
                      {"total_steps", total_steps},
                      {"start_step", start_step},
                      {"last_train_loss", summary.last_train_loss},
                      {"initial_validation_loss", summary.initial_validation_loss},
                      {"final_validation_loss", summary.final_validation_loss},
                      {"unigram_entropy", summary.unigram_entropy},
                      {"peak_resident_bytes", summary.peak_resident_bytes},
                      {"memory", memory_report_json(memory, estimate)},
                      {"seconds", run_timer.seconds()},
                      {"phase_seconds", phase_seconds_json(run_phases)},
                      {"gemm_peak_flops", peak_flops},
                      {"flops_per_token", flops_per_token},
                      {"tokens_per_step", tokens_per_step}};
  if (group != nullptr) {
    log->message(fmt::format(
        "data parallel: gradient bytes sent per rank per step: {} (subspace-refresh steps: {})",
        plain_step_bytes, refresh_step_bytes));
    json["ranks"] = ranks;
    json["reduced_bytes_per_step"] = plain_step_bytes;
    json["reduced_bytes_per_refresh_step"] = refresh_step_bytes;
  }
  if (writer) write_text_file(out_dir / "summary.json", json.dump(2) + "\n");
  return summary;
}

}  // namespace

OptimizerConfig optimizer_config(const config::RunConfig& c) {
  OptimizerConfig o;
  o.name = c.optimizer.name;
  o.lr = static_cast<float>(c.optimizer.lr);
  o.weight_decay = static_cast<float>(c.optimizer.weight_decay);
  o.beta1 = static_cast<float>(c.optimizer.beta1);
  o.beta2 = static_cast<float>(c.optimizer.beta2);
  o.eps = static_cast<float>(c.optimizer.eps);
  o.quantization_block_size = static_cast<int>(c.optimizer.block_size);
  o.galore.rank = static_cast<int>(c.optimizer.rank);
  o.galore.update_gap = static_cast<int>(c.optimizer.update_gap);
  o.galore.scale = static_cast<float>(c.optimizer.scale);
  o.galore.proj_type = c.optimizer.proj_type;
  o.galore.refresh = c.optimizer.refresh;
  o.galore.seed = static_cast<std::uint64_t>(c.run.seed);
  return o;
}

const char* status_name(RunSummary::Status status) {
  switch (status) {
    case RunSummary::Status::Completed: return "completed";
    case RunSummary::Status::Stopped: return "stopped";
    case RunSummary::Status::Diverged: return "diverged";
  }
  return "unknown";
}

RunSummary run_training(const config::RunConfig& config, const std::atomic<bool>& stop_requested,
                        std::ostream& console, bool console_is_terminal, ProcessGroup* group) {
  config::validate(config, group != nullptr ? group->size() : 1);
  const data::TrainValidationSplit split = data::open_train_validation(data_spec(config));
  const ModelConfig model_config = resolve_model_config(config, split.train->vocab_size());
  if (config.model.dtype == "fp32") {
    return train<float>(config, model_config, split, stop_requested, console, console_is_terminal,
                        group);
  }
  return train<bf16>(config, model_config, split, stop_requested, console, console_is_terminal,
                     group);
}

}  // namespace galore
