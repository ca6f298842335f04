// "Did you mean" suggestions: the candidate nearest to a misspelt word by optimal string
// alignment distance (Damerau-Levenshtein where a transposed pair counts as one edit, as in
// "lr" -> "rl", and no substring is edited twice).

#include <anvil/options.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace anvil {
namespace {

std::size_t osa_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  // Three rows of the (n+1) x (m+1) table suffice: a transposition looks two rows back.
  std::vector<std::size_t> before(m + 1), previous(m + 1), current(m + 1);
  for (std::size_t j = 0; j <= m; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // At most 2 edits, or a third of the word for long words. A suggestion must also share
  // something with the word (fewer edits than the longer of the two has characters), so "x"
  // never suggests "lr" by replacing everything.
  const std::size_t threshold = std::max<std::size_t>(2, word.size() / 3);
  std::size_t best = std::numeric_limits<std::size_t>::max();
  const std::string* match = nullptr;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = osa_distance(word, candidate);
    if (distance > threshold || distance >= std::max(word.size(), candidate.size())) continue;
    if (distance < best) {  // strict: on a tie the earlier candidate stays
      best = distance;
      match = &candidate;
    }
  }
  return match ? *match : std::string();
}

}  // namespace anvil
