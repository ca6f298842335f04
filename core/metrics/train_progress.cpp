#include "metrics/train_progress.h"

#include "metrics/progress_bar.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace anvil::core {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  const auto total = static_cast<std::int64_t>(std::llround(std::max(0.0, seconds)));
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
}

std::string format_step(const StepView& v) {
  std::string text = fmt::format("step {}/{}  loss {:.4f}  lr {:.2e}  gnorm {:.3f}  {} tok/s", v.step,
                                 v.total, v.loss, v.lr, v.grad_norm,
                                 format_count(static_cast<std::uint64_t>(std::llround(v.tokens_per_s))));
  if (v.mfu >= 0) text += fmt::format("  MFU {:.1f}%", 100 * v.mfu);
  if (v.eta_seconds >= 0) text += "  ETA " + format_duration(v.eta_seconds);
  return text;
}

TrainProgress::TrainProgress() : TrainProgress(isatty(STDERR_FILENO) != 0) {}
TrainProgress::TrainProgress(bool terminal) : terminal_(terminal) {}
TrainProgress::~TrainProgress() { finish(); }

void TrainProgress::status(const StepView& view) {
  if (!terminal_) return;
  const double now = now_seconds();
  if (view.step < view.total && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  std::cerr << "\r\033[K" << format_step(view) << std::flush;
  drawn_ = true;
}

void TrainProgress::line(const std::string& text) {
  finish();
  std::cout << text << "\n" << std::flush;
}

void TrainProgress::finish() {
  if (!drawn_) return;
  std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace anvil::core
