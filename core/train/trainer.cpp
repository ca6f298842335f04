#include "train/trainer.h"

#include "metrics/progress_bar.h"
#include "train/batches.h"

#include <anvil/errors.h>

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

namespace anvil::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string number(double value) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  if (value != 0 && (std::fabs(value) >= 1e5 || std::fabs(value) < 1e-3)) return fmt::format("{:.3e}", value);
  return fmt::format("{:.4f}", value);
}

[[noreturn]] void stop_nonfinite(std::int64_t step, const StepOutcome& outcome, std::int64_t in_a_row) {
  throw Error(fmt::format("training stopped at step {}: the {} is not finite (loss {}, gradient norm {}){}",
                          step, std::isfinite(outcome.loss) ? "gradient" : "loss", outcome.loss,
                          outcome.grad_norm,
                          in_a_row > 1 ? fmt::format(", {} steps in a row", in_a_row) : ""),
              "lower [optimizer] lr, add warmup_steps, keep grad_clip on, or try precision = "
              "\"fp32\"; nonfinite = \"skip\" skips isolated bad steps");
}

}  // namespace

Metrics evaluate(TrainerParts& parts, const TrainEnvironment& env) {
  Metrics all;
  if (!parts.validation || parts.evaluators.empty()) return all;
  ValidationSource source(*parts.validation, env.device);
  const bool was_training = parts.model.module().is_training();
  parts.model.module().eval();
  {
    at::NoGradGuard no_grad;
    AutocastScope autocast(env.precision, env.device);
    for (const EvaluatorTerm& term : parts.evaluators) {
      EvalInput input{parts.model, source, parts.tokenizer, parts.bytes_per_token};
      const Metrics metrics = call_plugin(term.identity, "evaluate", [&] { return term.evaluator->evaluate(input); });
      for (const Metric& metric : metrics) all.push_back({term.name + "." + metric.name, metric.value});
    }
  }
  parts.model.module().train(was_training);
  return all;
}

std::string eval_coverage(const Metrics& metrics, const ValidationBatches& validation) {
  const auto all = static_cast<double>(validation.target_count());
  for (const Metric& m : metrics)
    if (is_token_count(m.name) && m.value < all)
      return fmt::format(", on {} of {} validation tokens", format_count(static_cast<std::uint64_t>(m.value)),
                         format_count(static_cast<std::uint64_t>(all)));
  return "";
}

bool is_token_count(const std::string& name) {
  return name == "tokens" || (name.size() > 7 && name.compare(name.size() - 7, 7, ".tokens") == 0);
}

std::string describe_eval(const Metrics& metrics) {
  std::set<std::string> evaluators;
  for (const Metric& m : metrics) evaluators.insert(m.name.substr(0, m.name.find('.')));
  std::string text;
  for (const Metric& m : metrics) {
    const std::string name = evaluators.size() == 1 ? m.name.substr(m.name.find('.') + 1) : m.name;
    if (is_token_count(m.name)) continue;
    text += (text.empty() ? "" : ", ") + name + " " + number(m.value);
  }
  return text;
}

TrainSummary train(TrainerParts& parts, const TrainConfig& config, const TrainEnvironment& env,
                   TrainProgress& progress, const TrainPosition& start, StepHook* hook) {
  const LrSchedule schedule(config.schedule);
  StepOptions step_options;
  step_options.precision = env.precision;
  step_options.device = env.device;
  step_options.grad_clip = config.grad_clip;
  step_options.model = parts.model_identity;
  step_options.optimizer = parts.optimizer_identity;
  StepRunner runner(parts.model, parts.optimizer, parts.losses, parts.parameters, step_options);
  runner.scaler().restore(start.loss_scale, start.loss_scale_good_steps);
  const double base_lr = parts.optimizer.lr();
  const std::int64_t tokens_per_step = config.micro_batch_size * config.seq_len * config.grad_accum_steps;
  const double flops_per_token = parts.model.flops_per_token(config.seq_len);
  const auto mfu = [&](double tokens_per_s) {
    return env.peak_flops > 0 ? tokens_per_s * flops_per_token / env.peak_flops : -1.0;
  };

  TrainSummary summary;
  summary.first_step = summary.steps = start.step;
  summary.tokens = start.tokens;
  summary.skipped_steps = start.skipped_steps;
  parts.model.module().train();
  const Clock::time_point start_time = Clock::now();
  Clock::time_point after_first_step = start_time;
  Clock::time_point interval_start = start_time;
  std::int64_t interval_steps = 0, in_a_row = 0, interval_first_step = start.step + 1;
  double interval_loss = 0, interval_norm = 0;
  Metrics interval_metrics;
  std::vector<Batch> micro_batches(static_cast<std::size_t>(config.grad_accum_steps));

  for (std::int64_t step = start.step; step < config.steps; ++step) {
    const bool first = step == start.step;
    for (Batch& batch : micro_batches) batch = to_device(parts.loader.next(), env.device);
    const double lr = schedule.lr(step, base_lr);
    const StepOutcome outcome = runner.step(micro_batches, lr);
    summary.steps = step + 1;
    summary.tokens += tokens_per_step;
    if (first) after_first_step = Clock::now();

    if (!outcome.updated) {
      ++summary.skipped_steps;
      if (outcome.scale_overflow) {
        spdlog::info("step {}: fp16 gradients overflowed, loss scale lowered to {}", step + 1,
                     outcome.loss_scale / 2);
      } else {
        ++in_a_row;
        if (config.nonfinite == NonFinitePolicy::stop || in_a_row >= config.max_skipped_steps)
          stop_nonfinite(step + 1, outcome, in_a_row);
        spdlog::warn("step {}: loss {} / gradient norm {} not finite; step skipped ({} in a row)",
                     step + 1, outcome.loss, outcome.grad_norm, in_a_row);
      }
    } else {
      in_a_row = 0;
      summary.last_step_loss = outcome.loss;
      summary.last_step = step + 1;
      interval_loss += outcome.loss;
      interval_norm += outcome.grad_norm;
      add_metrics(interval_metrics, outcome.metrics, "", 1.0);
      ++interval_steps;
    }

    const double elapsed = seconds_since(start_time);
    const double timed = std::chrono::duration<double>(Clock::now() - after_first_step).count();
    StepView view;
    view.step = step + 1;
    view.total = config.steps;
    view.loss = outcome.loss;
    view.lr = lr;
    view.grad_norm = outcome.grad_norm;
    const std::int64_t done = step + 1 - start.step;  // steps of this part
    view.tokens_per_s = first ? tokens_per_step / std::max(elapsed, 1e-9)
                              : (done - 1) * tokens_per_step / std::max(timed, 1e-9);
    view.mfu = mfu(view.tokens_per_s);
    view.eta_seconds = first ? -1 : (config.steps - step - 1) * timed / (done - 1);
    progress.status(view);

    const bool last = step + 1 == config.steps;
    if (((step + 1) % config.log_every == 0 || last) && interval_steps > 0) {
      const double interval_seconds = seconds_since(interval_start);
      StepView logged = view;
      logged.loss = interval_loss / interval_steps;
      logged.grad_norm = interval_norm / interval_steps;
      logged.tokens_per_s = interval_steps * tokens_per_step / std::max(interval_seconds, 1e-9);
      logged.mfu = mfu(logged.tokens_per_s);
      progress.line(format_step(logged));
      summary.final_loss = logged.loss;
      summary.final_loss_from = interval_first_step;
      summary.final_loss_to = step + 1;
      if (parts.metrics) {
        Metrics record{{"loss", logged.loss},         {"lr", lr},
                       {"grad_norm", logged.grad_norm}, {"tokens_per_s", logged.tokens_per_s},
                       {"tokens", static_cast<double>(summary.tokens)}, {"elapsed_s", elapsed}};
        if (logged.mfu >= 0) record.push_back({"mfu", logged.mfu});
        if (env.precision == Precision::fp16) record.push_back({"loss_scale", outcome.loss_scale});
        for (const Metric& m : interval_metrics) record.push_back({m.name, m.value / interval_steps});
        parts.metrics->write("train", step + 1, record);
      }
      interval_start = Clock::now();
      interval_first_step = step + 2;
      interval_steps = 0;
      interval_loss = interval_norm = 0;
      interval_metrics.clear();
    }

    if ((config.eval_every > 0 && (step + 1) % config.eval_every == 0) || last) {
      const Clock::time_point eval_start = Clock::now();
      summary.eval = evaluate(parts, env);
      if (!summary.eval.empty()) {
        progress.line(fmt::format("eval at step {}: {} ({:.1f} s{})", step + 1, describe_eval(summary.eval),
                                  seconds_since(eval_start), eval_coverage(summary.eval, *parts.validation)));
        if (parts.metrics) parts.metrics->write("eval", step + 1, summary.eval);
      }
      // Evaluation time is not training time.
      const auto pause = Clock::now() - eval_start;
      after_first_step += pause;
      interval_start += pause;
    }

    if (hook) {
      TrainPosition position;
      position.step = step + 1;
      position.tokens = summary.tokens;
      position.skipped_steps = summary.skipped_steps;
      position.train_seconds = start.train_seconds + seconds_since(start_time);
      position.loss_scale = runner.scaler().scale();
      position.loss_scale_good_steps = runner.scaler().good_steps();
      const Clock::time_point hook_start = Clock::now();
      const bool stop = hook->after_step(position, last);
      // Time spent saving checkpoints is not training throughput either.
      const auto pause = Clock::now() - hook_start;
      after_first_step += pause;
      interval_start += pause;
      if (stop && !last) {
        summary.stopped_early = true;
        break;
      }
    }
  }
  progress.finish();
  summary.seconds = seconds_since(start_time);
  summary.total_seconds = start.train_seconds + summary.seconds;
  summary.session_tokens = summary.tokens - start.tokens;
  const double timed = std::chrono::duration<double>(Clock::now() - after_first_step).count();
  const std::int64_t part_steps = summary.steps - start.step;
  summary.tokens_per_s = part_steps > 1 ? (part_steps - 1) * tokens_per_step / std::max(timed, 1e-9)
                                        : part_steps * tokens_per_step / std::max(summary.seconds, 1e-9);
  summary.mfu = mfu(summary.tokens_per_s);
  return summary;
}

}  // namespace anvil::core
