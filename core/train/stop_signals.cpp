#include "train/stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace anvil::core {
namespace {

std::atomic<int> received_signal{0};
struct sigaction previous_int, previous_term;

void on_signal(int signal_number) {
  int expected = 0;
  if (received_signal.compare_exchange_strong(expected, signal_number)) {
    // Only async-signal-safe calls here: write(2), not stdio.
    const char* message =
        signal_number == SIGINT
            ? "\nanvil: interrupted; saving a checkpoint after this step (interrupt again to quit now)\n"
            : "\nanvil: terminated; saving a checkpoint after this step (signal again to quit now)\n";
    [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message, std::strlen(message));
    return;
  }
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

}  // namespace

StopSignals::StopSignals() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

int StopSignals::received() noexcept { return received_signal.load(); }

void StopSignals::clear() noexcept { received_signal.store(0); }

}  // namespace anvil::core
