// closest_match: optimal string alignment distance, the max(2, len/3) threshold, ties.

#include <anvil/options.h>

#include <catch2/catch.hpp>

using anvil::closest_match;

TEST_CASE("closest_match suggests near misses", "[sdk][closest_match]") {
  const std::vector<std::string> keys = {"lr", "momentum", "nesterov", "weight_decay"};
  CHECK(closest_match("lrr", keys) == "lr");  // insertion
  CHECK(closest_match("l", keys) == "lr");    // deletion
  CHECK(closest_match("rl", keys) == "lr");   // transposition counts as one edit
  CHECK(closest_match("momentun", keys) == "momentum");
  CHECK(closest_match("mometnum", keys) == "momentum");  // transposition
  CHECK(closest_match("weight_dacay", keys) == "weight_decay");
  CHECK(closest_match("lr", keys) == "lr");  // exact
}

TEST_CASE("closest_match stays quiet when nothing is close", "[sdk][closest_match]") {
  const std::vector<std::string> keys = {"lr", "momentum"};
  CHECK(closest_match("batch_size", keys).empty());
  CHECK(closest_match("xy", keys).empty());  // 2 edits, but nothing in common with "lr"
  CHECK(closest_match("x", keys).empty());
  CHECK(closest_match("", keys).empty());
  CHECK(closest_match("lr", {}).empty());
  CHECK(closest_match("momexxxxx", keys).empty());  // 5 edits > max(2, 9/3)
}

TEST_CASE("closest_match threshold grows with the word", "[sdk][closest_match]") {
  // 12 characters: up to 4 edits.
  CHECK(closest_match("gradaccumxxx", {"grad_accum_steps"}).empty());                // 5 edits
  CHECK(closest_match("grad_acc_stp", {"grad_accum_steps"}) == "grad_accum_steps");  // 4 edits
  // 6 characters: still 2.
  CHECK(closest_match("abcxyz", {"abcdef"}).empty());
  CHECK(closest_match("abcdxy", {"abcdef"}) == "abcdef");
}

TEST_CASE("closest_match prefers the smallest distance, then the first candidate",
          "[sdk][closest_match]") {
  CHECK(closest_match("cosin", {"linear", "cosine", "constant"}) == "cosine");
  CHECK(closest_match("ab", {"abc", "abd"}) == "abc");
  CHECK(closest_match("ab", {"abd", "abc"}) == "abd");
  CHECK(closest_match("abc", {"abxy", "abcd"}) == "abcd");
}
