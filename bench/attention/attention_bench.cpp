// Local (sliding-window) against full causal attention: wall time of one forward + backward
// pass and its peak memory, for growing sequence lengths (B = 1, H = 8, head_dim = 64, fp32,
// window 256).
//
// Each (length, kernel) case runs in a forked child, so that its peak resident memory is its own:
// the child reads getrusage's ru_maxrss (the high-water mark, which Linux starts from the
// resident size at fork) once its inputs exist and a small pass has paid the one-off set-up, and
// again after its passes, and sends the difference, with its times, back through a pipe. The
// difference is what one forward + backward pass holds at its peak: activations kept for the
// backward pass, temporaries, and the gradients of q, k and v. The parent runs no tensor code:
// forking after LibTorch's OpenMP pool has started is unsafe.
//
// It runs with OMP_WAIT_POLICY=PASSIVE, as `anvil train` does with a pthreads OpenBLAS
// (docs/performance.md): otherwise LibTorch's OpenMP threads spin after each elementwise op on
// the cores OpenBLAS needs next, which on 2 cores made the local kernel, with its many smaller
// ops, about 5 times slower at T = 512. A value already set is kept.
//
// usage: attention_bench [threads, default 2] [timed repeats, default 5]
#include "../passive_omp.h"

#include <anvil/nn/attention.h>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kBatch = 1, kHeads = 8, kHeadDim = 64, kWindow = 256;
// A first pass slower than this is the only one: repeating it would blow the ~2 minute budget.
constexpr double kSlowPassSeconds = 10.0;

/// What a child sends back.
struct Result {
  double median_s = 0;      ///< median of the timed passes (the first pass when it was slow)
  double first_s = 0;       ///< the first pass (warm-up: page faults, allocator growth)
  long peak_growth_kb = 0;  ///< ru_maxrss after the passes minus before them
  int timed = 0;            ///< passes the median is over
};

long max_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

double pass(bool local, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& grad) {
  // Fresh gradients each pass, as in training after zero_grad(set_to_none).
  for (const at::Tensor& x : {q, k, v}) x.mutable_grad().reset();
  const Clock::time_point start = Clock::now();
  const at::Tensor out =
      local ? anvil::nn::sliding_window_attention(q, k, v, kWindow) : anvil::nn::causal_attention(q, k, v);
  out.backward(grad);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result measure(bool local, std::int64_t T, int threads, int repeats) {
  at::set_num_threads(threads);
  at::manual_seed(0);
  const at::Tensor q = at::randn({kBatch, kHeads, T, kHeadDim}).requires_grad_();
  const at::Tensor k = at::randn({kBatch, kHeads, T, kHeadDim}).requires_grad_();
  const at::Tensor v = at::randn({kBatch, kHeads, T, kHeadDim}).requires_grad_();
  const at::Tensor grad = at::randn({kBatch, kHeads, T, kHeadDim});
  // The first pass in a process also pays for its one-off set-up (the BLAS's and the autograd
  // engine's buffers and threads): tens of MiB that do not grow with T. A pass on a single small
  // head (still past one window, so the local kernel takes its blocked path) pays it before
  // the baseline is read.
  {
    const auto small = [] { return at::randn({1, 1, kWindow + 8, kHeadDim}).requires_grad_(); };
    pass(local, small(), small(), small(), at::randn({1, 1, kWindow + 8, kHeadDim}));
  }
  Result result;
  const long before = max_rss_kb();
  result.first_s = pass(local, q, k, v, grad);
  std::vector<double> times;
  if (result.first_s > kSlowPassSeconds) {
    times.push_back(result.first_s);
  } else {
    for (int r = 0; r < repeats; ++r) times.push_back(pass(local, q, k, v, grad));
  }
  result.peak_growth_kb = max_rss_kb() - before;
  std::sort(times.begin(), times.end());
  result.median_s = times[times.size() / 2];
  result.timed = static_cast<int>(times.size());
  return result;
}

/// Runs measure() in a child; false (with a reason printed) when the child did not report.
bool measure_in_child(bool local, std::int64_t T, int threads, int repeats, Result& result) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    return false;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    const Result r = measure(local, T, threads, repeats);
    const bool written = write(fds[1], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  const ssize_t got = read(fds[0], &result, sizeof result);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof result)) {
    if (WIFSIGNALED(status)) {
      std::fprintf(stderr, "T=%lld %s: child killed by signal %d\n", static_cast<long long>(T),
                   local ? "local" : "full", WTERMSIG(status));
    } else {
      std::fprintf(stderr, "T=%lld %s: child failed\n", static_cast<long long>(T), local ? "local" : "full");
    }
    return false;
  }
  return true;
}

std::string cell_time(bool ok, const Result& r) {
  if (!ok) return "failed";
  char text[64];
  std::snprintf(text, sizeof text, "%.1f ms%s", r.median_s * 1e3, r.timed == 1 ? " (1 run)" : "");
  return text;
}

std::string cell_memory(bool ok, const Result& r) {
  if (!ok) return "failed";
  char text[64];
  std::snprintf(text, sizeof text, "%.0f MiB", static_cast<double>(r.peak_growth_kb) / 1024.0);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  anvil::bench::ensure_passive_omp(argv);
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (threads < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: %s [threads >= 1] [timed repeats >= 1]\n", argv[0]);
    return 2;
  }
  std::printf("forward + backward, B=%lld H=%lld head_dim=%lld fp32, window %lld, %d threads, "
              "median of %d after a warm-up pass, OMP_WAIT_POLICY=%s\n",
              static_cast<long long>(kBatch), static_cast<long long>(kHeads), static_cast<long long>(kHeadDim),
              static_cast<long long>(kWindow), threads, repeats, std::getenv("OMP_WAIT_POLICY"));
  std::printf("| T | full: time | local: time | speed-up | full: peak memory | local: peak memory |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::vector<std::string> skipped;
  for (const std::int64_t T : {512, 1024, 2048, 4096, 8192}) {
    Result full, local;
    const bool full_ok = measure_in_child(false, T, threads, repeats, full);
    const bool local_ok = measure_in_child(true, T, threads, repeats, local);
    if (full_ok && full.timed == 1) {
      skipped.push_back("full attention at T=" + std::to_string(T) + ": one pass took " +
                        std::to_string(full.first_s).substr(0, 5) + " s, repeats skipped");
    }
    if (local_ok && local.timed == 1) {
      skipped.push_back("local attention at T=" + std::to_string(T) + ": repeats skipped");
    }
    char ratio[32] = "-";
    if (full_ok && local_ok) std::snprintf(ratio, sizeof ratio, "%.1fx", full.median_s / local.median_s);
    std::printf("| %lld | %s | %s | %s | %s | %s |\n", static_cast<long long>(T), cell_time(full_ok, full).c_str(),
                cell_time(local_ok, local).c_str(), ratio, cell_memory(full_ok, full).c_str(),
                cell_memory(local_ok, local).c_str());
    std::fflush(stdout);
  }
  for (const std::string& line : skipped) std::printf("skipped: %s\n", line.c_str());
  return 0;
}
