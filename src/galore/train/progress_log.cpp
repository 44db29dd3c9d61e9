#include "galore/train/progress_log.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace galore {

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60)
                   : fmt::format("{}m{:02}s", s / 60, s % 60);
}

// Whole tokens/s, but a 7B step on a CPU runs at a fraction of one token per second.
std::string token_rate(double tokens_per_second) {
  return tokens_per_second >= 10 ? fmt::format("{:.0f}", tokens_per_second)
                                 : fmt::format("{:.2g}", tokens_per_second);
}

std::string step_line(const StepMetrics& m) {
  return fmt::format(
      "step {:>{}}/{} | loss {:.4f} | lr {:.3e} | norm {:.3f} | {} tok/s | MFU {:.1f}% | "
      "RSS {:.0f} MiB | ETA {}{}",
      m.step, std::to_string(m.total_steps).size(), m.total_steps, m.loss, m.lr, m.grad_norm,
      token_rate(m.tokens_per_second), 100.0 * m.mfu, m.resident_bytes / 1048576.0,
      duration(m.eta_seconds),
      m.skipped_parameters ? fmt::format(" | skipped {}", m.skipped_parameters) : "");
}

}  // namespace

nlohmann::json phase_seconds_json(const PhaseSeconds& seconds) {
  nlohmann::json json = nlohmann::json::object();
  for (int i = 0; i < kPhaseCount; ++i)
    json[phase_name(static_cast<Phase>(i))] = seconds.seconds[i];
  return json;
}

std::string phase_split_line(const PhaseSeconds& seconds) {
  const double total = seconds.total();
  std::string line;
  for (int i = 0; i < kPhaseCount; ++i) {
    if (seconds.seconds[i] <= 0) continue;
    line += fmt::format("{} {:.1f}% | ", phase_name(static_cast<Phase>(i)),
                        100.0 * seconds.seconds[i] / total);
  }
  return line + fmt::format("of {:.1f} s", total);
}

ProgressLog::ProgressLog(std::ostream& console, bool terminal, const std::string& metrics_path,
                         std::int64_t log_interval, bool append)
    : console_(console),
      terminal_(terminal),
      log_interval_(log_interval > 0 ? log_interval : 1),
      metrics_(metrics_path, append ? std::ios::app : std::ios::trunc) {
  if (!metrics_) throw IoError("cannot write metrics file " + metrics_path);
}

ProgressLog::~ProgressLog() { end_live_line(); }

void ProgressLog::step(const StepMetrics& m) {
  metrics_ << nlohmann::json{{"type", "train"},
                             {"step", m.step},
                             {"loss", m.loss},
                             {"lr", m.lr},
                             {"grad_norm", m.grad_norm},
                             {"tokens_per_s", m.tokens_per_second},
                             {"mfu", m.mfu},
                             {"rss_bytes", m.resident_bytes},
                             {"skipped_parameters", m.skipped_parameters},
                             {"phase_seconds", phase_seconds_json(m.phase_seconds)}}
                  .dump()
           << '\n'
           << std::flush;
  if (terminal_) {
    console_ << "\r\x1b[2K" << step_line(m) << std::flush;  // redraw the one live line
    live_line_ = true;
  } else if (m.step % log_interval_ == 0 || m.step == m.total_steps) {
    console_ << step_line(m) << '\n' << std::flush;
  }
}

void ProgressLog::eval(const EvalMetrics& m) {
  metrics_ << nlohmann::json{{"type", "eval"},
                             {"step", m.step},
                             {"val_loss", m.validation_loss},
                             {"unigram_entropy", m.unigram_entropy}}
                  .dump()
           << '\n'
           << std::flush;
  message(fmt::format("eval at step {}: validation loss {:.4f} (unigram baseline {:.4f})", m.step,
                      m.validation_loss, m.unigram_entropy));
}

void ProgressLog::message(const std::string& text) {
  end_live_line();
  console_ << text << '\n' << std::flush;
}

void ProgressLog::end_live_line() {
  if (live_line_) console_ << '\n' << std::flush;
  live_line_ = false;
}

}  // namespace galore
