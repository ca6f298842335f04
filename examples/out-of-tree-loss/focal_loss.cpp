// Focal loss (Lin et al., 2017) as an Anvil loss plugin: cross-entropy scaled by (1 - p_t)^gamma,
// which down-weights tokens the model already predicts well.
#include <anvil/loss.h>
#include <anvil/plugin.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <cstdint>
#include <memory>

namespace {

class FocalLoss final : public anvil::Loss {
 public:
  FocalLoss(double gamma, std::int64_t ignore_index) : gamma_(gamma), ignore_index_(ignore_index) {}

  anvil::LossOutput compute(const anvil::ModelOutput& output, const anvil::Batch& batch) override {
    const auto vocab = output.logits.size(-1);
    const at::Tensor logits = output.logits.reshape({-1, vocab}).to(at::kFloat);  // [N, V]
    const at::Tensor target = batch.target.reshape({-1});                          // [N]
    const at::Tensor counted = target.ne(ignore_index_);
    const at::Tensor safe_target = at::where(counted, target, at::zeros_like(target));
    const at::Tensor log_p = at::log_softmax(logits, -1).gather(1, safe_target.unsqueeze(1)).squeeze(1);
    const at::Tensor weight = (1 - log_p.exp()).pow(gamma_);
    const at::Tensor per_token = -(weight * log_p) * counted;
    const at::Tensor loss = per_token.sum() / counted.sum().clamp_min(1);
    return {loss, {{"focal", loss.item<double>()}}};
  }

 private:
  double gamma_;
  std::int64_t ignore_index_;
};

void register_components(anvil::Registry& registry) {
  anvil::OptionSchema options;
  options.add("gamma", 2.0, "focusing exponent; 0 gives plain cross-entropy").range(0.0, 10.0);
  options.add("ignore_index", std::int64_t{-100}, "target id that is not counted");
  registry.add<anvil::Loss>(
      "focal", "focal loss: cross-entropy scaled by (1 - p)^gamma", std::move(options),
      [](const anvil::Options& o, const anvil::RunContext&) {
        return std::make_unique<FocalLoss>(o.get<double>("gamma"), o.get<std::int64_t>("ignore_index"));
      });
}

}  // namespace

ANVIL_PLUGIN("loss-focal", "1.0.0", "Focal loss for language-model training", "Apache-2.0",
             register_components)
