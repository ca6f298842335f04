// The trainer's side of checkpoints: model weights and generator states go out and come back
// exactly; a checkpoint of another model is refused with the tensor named.
#include "support/tiny_dense.h"
#include "train/train_checkpoint.h"

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <catch2/catch.hpp>

using namespace anvil::core;
using Catch::Matchers::Contains;

TEST_CASE("model weights saved from one model load into another exactly", "[train][checkpoint]") {
  auto source = anvil::test::tiny_dense(50, 16, 0, 1);
  auto target = anvil::test::tiny_dense(50, 16, 0, 2);
  const at::Tensor tokens = at::randint(50, {2, 8}, at::kLong);
  at::NoGradGuard no_grad;
  REQUIRE_FALSE(at::equal(source->forward(tokens).logits, target->forward(tokens).logits));

  StateDict saved;
  for (auto& [name, tensor] : model_state(*source)) saved.emplace_back(name, tensor.clone());
  CHECK(saved.front().first == "tok_embeddings.weight");
  load_model_state(*target, saved, "model.safetensors");
  CHECK(at::equal(source->forward(tokens).logits, target->forward(tokens).logits));
}

TEST_CASE("weights of another model are refused with the tensor named", "[train][checkpoint]") {
  auto model = anvil::test::tiny_dense(50, 16, 0, 1);
  auto wider_vocab = anvil::test::tiny_dense(60, 16, 0, 1);
  CHECK_THROWS_WITH(load_model_state(*model, model_state(*wider_vocab), "m.safetensors"),
                    Contains("m.safetensors") && Contains("tok_embeddings.weight") && Contains("[60, 32]"));
  StateDict missing = model_state(*model);
  missing.pop_back();
  CHECK_THROWS_WITH(load_model_state(*model, missing, "m.safetensors"), Contains("no tensor"));
  StateDict extra = model_state(*model);
  extra.emplace_back("unexpected.weight", at::zeros({1}));
  CHECK_THROWS_WITH(load_model_state(*model, extra, "m.safetensors"),
                    Contains("\"unexpected.weight\" is not part of the model"));
}

TEST_CASE("generator states restore the random stream", "[train][checkpoint]") {
  at::manual_seed(11);
  at::rand({3});
  const StateDict states = generator_states();
  REQUIRE(states.front().first == "cpu");
  const at::Tensor expected = at::rand({5});
  at::rand({7});  // move on
  restore_generator_states(states, "rng.safetensors");
  CHECK(at::equal(at::rand({5}), expected));
}

TEST_CASE("a checkpoint written before dataset format 2 is not resumed on today's data", "[train][checkpoint]") {
  LoadedCheckpoint checkpoint;
  checkpoint.dir = "runs/x/checkpoints/step-00000100";
  checkpoint.state.anvil_version = "0.4.0";
  CHECK_THROWS_WITH(check_checkpoint_data_format(checkpoint),
                    Contains("cannot resume from runs/x/checkpoints/step-00000100: it was written by Anvil "
                             "0.4.0, whose datasets (format version 1) encoded special-token text"));
  checkpoint.state.anvil_version = "0.5.0";
  CHECK_NOTHROW(check_checkpoint_data_format(checkpoint));
  checkpoint.state.anvil_version = "1.0.0";
  CHECK_NOTHROW(check_checkpoint_data_format(checkpoint));
}
