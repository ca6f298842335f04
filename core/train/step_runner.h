#pragma once
// One optimizer step: forward and backward over the step's micro-batches (gradients summed,
// each micro-batch's loss divided by their number, so k micro-batches of b rows give the
// gradient of one batch of k*b rows), under autocast, with loss scaling for fp16; then the
// global gradient norm, the non-finite check, clipping and the optimizer update.

#include "plugin/plugin_call.h"
#include "train/precision.h"

#include <anvil/loss.h>
#include <anvil/metrics.h>
#include <anvil/model.h>
#include <anvil/optimizer.h>

#include <string>
#include <vector>

namespace anvil::core {

/// One [[loss]] entry: its component, weight and the name its metrics are shown under.
struct LossTerm {
  std::string name;  ///< the plugin name, e.g. "cross-entropy"
  Loss* loss = nullptr;
  double weight = 1.0;
  ComponentIdentity identity{ComponentKind::loss};  ///< who errors from compute() name
};

struct StepOptions {
  Precision precision = Precision::fp32;
  c10::Device device = c10::Device(c10::kCPU);
  double grad_clip = 1.0;  ///< maximum global gradient norm; 0 = no clipping
  /// Who errors from the model's forward and backward, and from the optimizer, name.
  ComponentIdentity model{ComponentKind::architecture};
  ComponentIdentity optimizer{ComponentKind::optimizer};
};

struct StepOutcome {
  double loss = 0;       ///< the objective (weighted terms + auxiliary losses), mean over micro-batches
  Metrics metrics;       ///< "<term>.<metric>" and "aux.<name>", means over micro-batches
  double grad_norm = 0;  ///< global L2 norm of the gradient before clipping
  bool updated = true;   ///< false when the loss or the gradient was not finite (no update)
  /// fp16: the gradients overflowed at this loss scale (the scale is halved; an expected event,
  /// not a diverging run).
  bool scale_overflow = false;
  double loss_scale = 1; ///< the fp16 loss scale used
};

class StepRunner {
 public:
  /// `parameters` are the tensors whose gradients are measured and clipped (the optimizer's).
  StepRunner(Model& model, Optimizer& optimizer, std::vector<LossTerm> losses,
             std::vector<at::Tensor> parameters, StepOptions options);

  /// Trains on `micro_batches` (on the model's device) at learning rate `lr`. When the loss
  /// or gradient is not finite, the parameters and optimizer state are left unchanged.
  /// A model that is also a StepObserver hears of the step's end, updated or skipped; the
  /// metrics it returns join the outcome's.
  StepOutcome step(const std::vector<Batch>& micro_batches, double lr);

  /// The fp16 loss scaler (its state goes into checkpoints).
  LossScaler& scaler() noexcept { return scaler_; }

 private:
  Model& model_;
  StepObserver* observer_;  ///< the model's, when it implements one
  Optimizer& optimizer_;
  std::vector<LossTerm> losses_;
  std::vector<at::Tensor> parameters_;
  StepOptions options_;
  LossScaler scaler_;
};

/// Adds each of `metrics`, divided by `divisor`, to the entry of `sums` named prefix + its name
/// (appended, in order, when there is none): means over micro-batches or over log intervals.
void add_metrics(Metrics& sums, const Metrics& metrics, const std::string& prefix, double divisor);

/// The global L2 norm of the defined gradients of `parameters` (NaN or inf when one is).
double global_grad_norm(const std::vector<at::Tensor>& parameters);

/// Scales the gradients of `parameters` so that their global norm is at most `max_norm`
/// (given their current norm `norm`), as torch.nn.utils.clip_grad_norm_.
void clip_gradients(const std::vector<at::Tensor>& parameters, double norm, double max_norm);

}  // namespace anvil::core
