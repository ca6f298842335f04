// Where an MoE layer's forward pass spends its time: the router (scores, top-k), the dispatch
// (sort by expert, host read of the counts), the permutation (gathering the tokens in expert
// order, weighting, scattering the results back) and the experts' matmuls (the routed experts
// on their contiguous slices, and the shared expert). Each part runs alone on the same inputs,
// median of repeats; "overhead" is router + dispatch + permutation over the whole layer, which
// is also timed as one call (MoEFeedForward::forward), and forward + backward.
//
// Two shapes: the tiny-moe.toml layer (D 256, 8 experts of 176, top-2, 1 shared) and a
// fine-grained one (D 512, 64 experts of 128, top-6, 2 shared: DeepSeek-V2-Lite's expert count
// and top-k at a quarter of its width), 2048 tokens each (8 x 256, the demo's batch).
//
// Runs with OMP_WAIT_POLICY=PASSIVE (bench/passive_omp.h), as `anvil train` does.
//
// usage: moe_bench [threads, default 2] [repeats, default 10]
#include "../passive_omp.h"

#include <anvil/nn/moe.h>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace {

using anvil::nn::MoEFeedForward;

double median_ms(int repeats, const std::function<void()>& run) {
  run();  // warm-up: allocator and BLAS buffers
  std::vector<double> samples;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

struct Shape {
  const char* name;
  std::int64_t d_model, experts, hidden, top_k, shared;
};

void measure(const Shape& s, std::int64_t tokens, int repeats) {
  anvil::nn::MoEOptions o;
  o.router.d_model = s.d_model;
  o.router.n_experts = s.experts;
  o.router.top_k = s.top_k;
  o.router.score = anvil::nn::RouterScore::sigmoid;
  o.expert_hidden = s.hidden;
  o.n_shared_experts = s.shared;
  o.balance_loss = anvil::nn::BalanceLoss::none;
  MoEFeedForward moe(o);
  const at::Tensor x = at::randn({tokens, s.d_model});

  at::NoGradGuard no_grad;
  anvil::nn::Routing routing = moe->router->forward(x);
  anvil::nn::ExpertDispatch dispatch = anvil::nn::dispatch_by_expert(routing, s.experts);
  at::Tensor sorted = x.index_select(0, dispatch.tokens);
  at::Tensor routed = moe->experts->forward(sorted, dispatch.counts);

  const double router = median_ms(repeats, [&] { routing = moe->router->forward(x); });
  const double dispatching = median_ms(repeats, [&] { dispatch = anvil::nn::dispatch_by_expert(routing, s.experts); });
  const double permutation = median_ms(repeats, [&] {
    sorted = x.index_select(0, dispatch.tokens);
    const at::Tensor weighted = routed * dispatch.weights.unsqueeze(1);
    at::zeros({tokens, s.d_model}).index_add_(0, dispatch.tokens, weighted);
  });
  const double experts = median_ms(repeats, [&] { routed = moe->experts->forward(sorted, dispatch.counts); });
  const double shared = median_ms(repeats, [&] { moe->shared->forward(x); });
  const double layer = median_ms(repeats, [&] { moe->forward(x.view({8, -1, s.d_model})); });
  double train = 0;
  {
    at::AutoGradMode grad(true);
    train = median_ms(repeats, [&] { moe->forward(x.view({8, -1, s.d_model})).output.sum().backward(); });
  }
  const double overhead = router + dispatching + permutation;
  std::printf("%-12s router %6.2f  dispatch %6.2f  permute %6.2f  experts %7.2f  shared %6.2f | layer fwd %7.2f ms, overhead %4.1f%% | fwd+bwd %7.2f ms\n",
              s.name, router, dispatching, permutation, experts, shared, layer, 100.0 * overhead / layer, train);
}

}  // namespace

int main(int argc, char** argv) {
  anvil::bench::ensure_passive_omp(argv);
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  at::set_num_threads(threads);
  at::manual_seed(0);
  std::printf("MoE layer forward, 2048 tokens, fp32, %d threads, median of %d (ms), OMP_WAIT_POLICY=%s\n",
              threads, repeats, std::getenv("OMP_WAIT_POLICY"));
  measure({"tiny-moe", 256, 8, 176, 2, 1}, 2048, repeats);
  measure({"fine-grained", 512, 64, 128, 6, 2}, 2048, repeats);
  return 0;
}
