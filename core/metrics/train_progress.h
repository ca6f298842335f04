#pragma once
// What the trainer shows while it runs: on a terminal, a status line on stderr redrawn every
// step (step, loss, lr, grad norm, tokens/s, MFU, ETA); log lines on stdout every log_every
// steps, for evaluations and at the end, printed above the status line.

#include <cstdint>
#include <string>

namespace anvil::core {

struct StepView {
  std::int64_t step = 0;   ///< steps done
  std::int64_t total = 0;  ///< steps of the run
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;
  double mfu = -1;          ///< fraction of peak; < 0 when the peak is unknown
  double eta_seconds = -1;  ///< < 0 when not known yet
};

/// "step 120/600  loss 4.2130  lr 2.94e-04  gnorm 0.812  2,134 tok/s  MFU 41.2%  ETA 3m12s"
std::string format_step(const StepView& view);

/// "45s", "3m12s", "2h05m".
std::string format_duration(double seconds);

class TrainProgress {
 public:
  /// `terminal`: draw the live status line (default: when stderr is a terminal).
  TrainProgress();
  explicit TrainProgress(bool terminal);
  ~TrainProgress();
  /// Redraws the status line (terminal only, at most ten times a second).
  void status(const StepView& view);
  /// Prints `text` and a newline on stdout, clearing the status line first.
  void line(const std::string& text);
  /// Clears the status line.
  void finish();

 private:
  bool terminal_;
  bool drawn_ = false;
  double last_draw_ = -1;
};

}  // namespace anvil::core
