#pragma once
// SIGINT and SIGTERM during training: the first asks the loop to save a checkpoint at the next
// step boundary and exit cleanly (exit code 0); a second one ends the process at once, with the
// default action of the signal. A checkpoint being written at that moment stays a .partial-
// folder, which is never taken for a checkpoint.

namespace anvil::core {

class StopSignals {
 public:
  /// Installs the handlers; the destructor restores the previous ones.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// The signal received (SIGINT, SIGTERM), or 0.
  static int received() noexcept;
  /// Forgets a received signal (tests).
  static void clear() noexcept;
};

}  // namespace anvil::core
