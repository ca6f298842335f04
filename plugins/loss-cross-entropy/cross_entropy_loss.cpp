// The cross-entropy loss (see cross_entropy_loss.h for the formulas).
#include "cross_entropy_loss.h"

#include <anvil/errors.h>

#include <ATen/core/Reduction.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/logsumexp.h>

#include <cmath>
#include <string>

namespace anvil::builtin {

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyOptions options) : options_(options) {
  if (!(options_.label_smoothing >= 0 && options_.label_smoothing <= 1))
    throw Error("cross-entropy: label_smoothing must be in [0, 1], got " +
                std::to_string(options_.label_smoothing));
  if (!(options_.z_loss >= 0 && std::isfinite(options_.z_loss)))
    throw Error("cross-entropy: z_loss must be >= 0, got " + std::to_string(options_.z_loss));
}

LossOutput CrossEntropyLoss::compute(const ModelOutput& output, const Batch& batch) {
  const at::Tensor& logits = output.logits;  // [B, T, V]
  const at::Tensor& target = batch.target;   // [B, T]
  ANVIL_CHECK(logits.defined() && logits.dim() == 3,
              "cross-entropy: logits must be [B, T, V], got ",
              logits.defined() ? logits.sizes() : at::IntArrayRef{});
  ANVIL_CHECK(target.defined() && target.dim() == 2 && target.size(0) == logits.size(0) &&
                  target.size(1) == logits.size(1),
              "cross-entropy: target must be [B, T] = ", logits.sizes().slice(0, 2), ", got ",
              target.defined() ? target.sizes() : at::IntArrayRef{});

  const std::int64_t vocab = logits.size(2);
  at::Tensor x = logits.reshape({-1, vocab});  // [N, V]
  // Reduced-precision log-softmax loses digits the loss needs; float32 is the usual fix.
  if (x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16) x = x.to(at::kFloat);
  const at::Tensor y = target.reshape({-1});               // [N]
  const at::Tensor counted = y.ne(options_.ignore_index);  // [N] bool
  // Divide by the counted positions ourselves (clamped to 1): torch's mean would give NaN on a
  // fully masked batch, and the sum form is unambiguous with label smoothing.
  const at::Tensor n = counted.sum().clamp_min(1).to(x.scalar_type());  // scalar

  at::Tensor ce = at::cross_entropy_loss(x, y, /*weight=*/{}, at::Reduction::Sum,
                                         options_.ignore_index, options_.label_smoothing)
                      .div(n);
  LossOutput out;
  out.loss = ce;
  out.metrics.push_back({"ce", ce.detach().item<double>()});
  if (options_.z_loss > 0) {
    // logsumexp of ignored rows is masked out (not multiplied by 0, which would turn inf to NaN).
    const at::Tensor lse = at::logsumexp(x, {1});  // [N]
    const at::Tensor z =
        lse.square().masked_fill(counted.logical_not(), 0).sum().div(n).mul(options_.z_loss);
    out.loss = ce.add(z);
    out.metrics.push_back({"z_loss", z.detach().item<double>()});
  }
  return out;
}

}  // namespace anvil::builtin
