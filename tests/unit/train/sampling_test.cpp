// Choosing tokens (repetition penalty, top-k, top-p, temperature) and streaming text (whole
// UTF-8 characters only, stop strings cut and never shown in part).
#include "train/text_stream.h"
#include "train/token_choice.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <catch2/catch.hpp>

#include <set>

using namespace anvil::core;

TEST_CASE("the repetition penalty divides positive and multiplies negative logits of seen tokens", "[train][sample]") {
  at::Tensor logits = at::tensor({2.0, -1.0, 3.0, 0.5}, at::kFloat);
  penalize_repetition(logits, {0, 1, 1}, 2.0);
  CHECK(logits[0].item<float>() == 1.0f);
  CHECK(logits[1].item<float>() == -2.0f);
  CHECK(logits[2].item<float>() == 3.0f);  // not seen
  CHECK(logits[3].item<float>() == 0.5f);
}

TEST_CASE("greedy choice is the argmax after the penalty", "[train][sample]") {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor logits = at::tensor({1.0, 4.0, 3.5}, at::kFloat);
  ChoiceOptions greedy{0.0, 0, 1.0, 1.0};
  CHECK(choose_token(logits, {}, greedy, generator) == 1);
  greedy.repetition_penalty = 2.0;  // 4.0 -> 2.0 once token 1 was seen
  CHECK(choose_token(logits, {1}, greedy, generator) == 2);
}

TEST_CASE("top-k and top-p keep only the most likely tokens", "[train][sample]") {
  // Probabilities about 0.64, 0.24, 0.09, 0.03.
  const at::Tensor logits = at::log(at::tensor({0.03, 0.09, 0.64, 0.24}, at::kFloat));
  const auto drawn = [&](ChoiceOptions options) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    std::set<std::int64_t> ids;
    for (int i = 0; i < 400; ++i) ids.insert(choose_token(logits, {}, options, generator));
    return ids;
  };
  CHECK(drawn({1.0, 0, 1.0, 1.0}) == std::set<std::int64_t>{0, 1, 2, 3});
  CHECK(drawn({1.0, 2, 1.0, 1.0}) == std::set<std::int64_t>{2, 3});
  CHECK(drawn({1.0, 0, 0.8, 1.0}) == std::set<std::int64_t>{2, 3});     // 0.64 < 0.8 <= 0.88
  CHECK(drawn({1.0, 0, 0.5, 1.0}) == std::set<std::int64_t>{2});        // the most likely always stays
  CHECK(drawn({1.0, 0, 0.95, 1.0}) == std::set<std::int64_t>{1, 2, 3});
}

TEST_CASE("streamed text never shows half a character or part of a stop string", "[train][sample]") {
  TextStream stream({"\n\n", "END"});
  CHECK_FALSE(stream.update("ab"));
  CHECK(stream.take() == "ab");
  stream.update("ab\xc3");  // the first byte of "é"
  CHECK(stream.take().empty());
  stream.update("ab\xc3\xa9 E");  // "E" may start "END"
  CHECK(stream.take() == "\xc3\xa9 ");
  stream.update("ab\xc3\xa9 Ex");
  CHECK(stream.take() == "Ex");
  CHECK(stream.update("ab\xc3\xa9 Ex\n\nmore"));
  CHECK(stream.text() == "ab\xc3\xa9 Ex");
  CHECK(stream.take(true).empty());
  CHECK(stream.stopped());

  TextStream plain({});
  plain.update("x\xe2\x82");  // unfinished "€" at the end: shown only when final
  CHECK(plain.take() == "x");
  CHECK(plain.take(true) == "\xe2\x82");
}
