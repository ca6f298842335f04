#include "data/token_loader.h"

#include "support/data_error.h"
#include "support/temp_dir.h"
#include "support/test_tokenizer_folder.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace anvil::core;
using anvil::test::data_error;
using anvil::test::write_test_tokenizer;
namespace fs = std::filesystem;

namespace {

/// A dataset whose train split holds the ids 0, 1, 2, ... (so a window is known by its first
/// input), cut into documents of random length and into shards of about `shard_tokens`.
struct Corpus {
  anvil::test::TempDir dir{"anvil_loader"};
  std::vector<std::int64_t> tokens;
  Dataset dataset;

  explicit Corpus(std::size_t size, std::uint64_t shard_tokens = 1000) : dataset(make(size, shard_tokens)) {}

  const TokenStream& train() const { return dataset.split("train"); }

 private:
  Dataset make(std::size_t size, std::uint64_t shard_tokens) {
    std::mt19937 random(99);
    std::uniform_int_distribution<std::size_t> length(1, 300);
    ShardWriter writer(dir.path, "train", TokenType::uint16, shard_tokens);
    std::vector<std::int32_t> document;
    while (tokens.size() < size) {
      document.resize(std::min(length(random), size - tokens.size()));
      for (auto& id : document) {
        id = static_cast<std::int32_t>(tokens.size());
        tokens.push_back(id);
      }
      writer.add_document(document.data(), document.size());
    }
    DatasetInfo info;
    info.tokenizer = {"test", 65536, 0, "<eos>", write_test_tokenizer(dir.path)};
    info.splits["train"] = writer.finish();
    write_dataset_info(dir.path, info);
    return Dataset::open(dir.path);
  }
};

LoaderOptions options(std::int64_t seq_len, std::int64_t batch_size, int prefetch = 0,
                      std::uint64_t seed = 1234) {
  LoaderOptions result;
  result.seq_len = seq_len;
  result.batch_size = batch_size;
  result.prefetch = prefetch;
  result.seed = seed;
  return result;
}

std::vector<TokenBatch> take(TrainLoader& loader, int count) {
  std::vector<TokenBatch> batches;
  for (int i = 0; i < count; ++i) batches.push_back(loader.next());
  return batches;
}

bool same(const TokenBatch& a, const TokenBatch& b) {
  return a.rows == b.rows && a.seq_len == b.seq_len && a.input == b.input && a.target == b.target;
}

bool same(const std::vector<TokenBatch>& a, const std::vector<TokenBatch>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const TokenBatch& x, const TokenBatch& y) { return same(x, y); });
}

/// The window a row was cut from (the corpus holds ids 0, 1, 2, ...).
std::uint64_t window_of(const TokenBatch& batch, std::int64_t row) {
  return static_cast<std::uint64_t>(batch.input[static_cast<std::size_t>(row * batch.seq_len)] /
                                    batch.seq_len);
}


}  // namespace

TEST_CASE("permute_index is a bijection of 0 .. n-1", "[loader]") {
  for (const std::uint64_t n : {1, 2, 3, 5, 16, 17, 1000, 4096, 4097}) {
    for (const std::uint64_t seed : {0, 1234}) {
      for (const std::uint64_t epoch : {0, 7}) {
        std::vector<int> hits(n, 0);
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint64_t j = permute_index(i, n, seed, epoch);
          REQUIRE(j < n);
          REQUIRE(permute_index(i, n, seed, epoch) == j);
          ++hits[j];
        }
        INFO("n = " << n << ", seed = " << seed << ", epoch = " << epoch);
        CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
      }
    }
  }
  CHECK(permute_index(0, 1, 5, 5) == 0);
  // Large domains work without a table (a 2^62-element permutation, one element).
  CHECK(permute_index(123456789, std::uint64_t{1} << 62, 1, 0) < (std::uint64_t{1} << 62));
}

TEST_CASE("permute_index shuffles, differently per seed and epoch", "[loader]") {
  auto order = [](std::uint64_t seed, std::uint64_t epoch) {
    std::vector<std::uint64_t> result;
    for (std::uint64_t i = 0; i < 1000; ++i) result.push_back(permute_index(i, 1000, seed, epoch));
    return result;
  };
  const std::vector<std::uint64_t> base = order(1234, 0);
  std::size_t fixed_points = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) fixed_points += base[i] == i;
  CHECK(fixed_points < 20);
  CHECK(order(1234, 0) == base);
  CHECK(order(1234, 1) != base);
  CHECK(order(1235, 0) != base);
}

TEST_CASE("the same seed gives the same batches, another seed another order", "[loader]") {
  const Corpus corpus(20000);
  TrainLoader a(corpus.train(), options(16, 4));
  TrainLoader b(corpus.train(), options(16, 4));
  TrainLoader c(corpus.train(), options(16, 4, 0, 99));
  const auto batches_a = take(a, 10);
  CHECK(same(batches_a, take(b, 10)));
  CHECK_FALSE(same(batches_a, take(c, 10)));
}

TEST_CASE("a batch is rows of windows, the target the input shifted by one", "[loader]") {
  const Corpus corpus(5000, 700);
  const std::int64_t seq_len = 32;
  TrainLoader loader(corpus.train(), options(seq_len, 3));
  for (int step = 0; step < 20; ++step) {
    const TokenBatch batch = loader.next();
    REQUIRE(batch.rows == 3);
    REQUIRE(batch.seq_len == seq_len);
    REQUIRE(batch.input.size() == 3 * 32);
    REQUIRE(batch.target.size() == 3 * 32);
    for (std::int64_t row = 0; row < 3; ++row) {
      const std::uint64_t begin = window_of(batch, row) * seq_len;
      REQUIRE(begin % seq_len == 0);
      for (std::int64_t i = 0; i < seq_len; ++i) {
        const auto at = static_cast<std::size_t>(row * seq_len + i);
        REQUIRE(batch.input[at] == corpus.tokens[begin + static_cast<std::uint64_t>(i)]);
        REQUIRE(batch.target[at] == corpus.tokens[begin + static_cast<std::uint64_t>(i) + 1]);
      }
    }
  }
}

TEST_CASE("every window is seen exactly once per epoch", "[loader]") {
  const Corpus corpus(10001);
  const std::int64_t seq_len = 10;
  const std::int64_t batch_size = 7;
  TrainLoader loader(corpus.train(), options(seq_len, batch_size, 2));
  const std::uint64_t windows = loader.windows_per_epoch();
  REQUIRE(windows == 1000);
  // Three epochs' worth of rows, in order of their global sequence number.
  std::vector<std::uint64_t> sequence_windows;
  while (sequence_windows.size() < 3 * windows) {
    const TokenBatch batch = loader.next();
    for (std::int64_t row = 0; row < batch_size; ++row) sequence_windows.push_back(window_of(batch, row));
  }
  std::vector<std::vector<std::uint64_t>> epochs;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::uint64_t> seen(sequence_windows.begin() + epoch * 1000,
                                    sequence_windows.begin() + (epoch + 1) * 1000);
    epochs.push_back(seen);
    std::sort(seen.begin(), seen.end());
    std::vector<std::uint64_t> all(windows);
    for (std::uint64_t w = 0; w < windows; ++w) all[w] = w;
    CHECK(seen == all);
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);
}

TEST_CASE("without shuffle windows come in order", "[loader]") {
  const Corpus corpus(1000);
  LoaderOptions in_order = options(10, 4);
  in_order.shuffle = false;
  TrainLoader loader(corpus.train(), in_order);
  REQUIRE(loader.windows_per_epoch() == 99);
  std::vector<std::uint64_t> windows;
  for (int step = 0; step < 26; ++step) {
    const TokenBatch batch = loader.next();
    for (std::int64_t row = 0; row < 4; ++row) windows.push_back(window_of(batch, row));
  }
  for (std::uint64_t g = 0; g < windows.size(); ++g) REQUIRE(windows[g] == g % 99);
}

TEST_CASE("prefetching gives the same batches as reading in place", "[loader]") {
  const Corpus corpus(20000);
  const int prefetch = GENERATE(1, 2, 5);
  TrainLoader direct(corpus.train(), options(64, 4, 0));
  TrainLoader ahead(corpus.train(), options(64, 4, prefetch));
  // 100 batches of 256 tokens cross several epochs of 312 windows.
  CHECK(same(take(direct, 100), take(ahead, 100)));
}

TEST_CASE("restore continues exactly where the state was taken", "[loader]") {
  const Corpus corpus(20000);
  const int first_prefetch = GENERATE(0, 2);
  const int second_prefetch = GENERATE(0, 3);
  TrainLoader uninterrupted(corpus.train(), options(32, 4, 0));
  const auto reference = take(uninterrupted, 200);

  TrainLoader before(corpus.train(), options(32, 4, first_prefetch));
  const auto head = take(before, 170);
  CHECK(same(head, std::vector<TokenBatch>(reference.begin(), reference.begin() + 170)));
  const LoaderState state = before.state();
  // The consumer's position: what next() returned, not what the prefetch thread prepared.
  CHECK(state.sequences == 170 * 4);
  CHECK(state.seed == 1234);
  CHECK(state.seq_len == 32);
  CHECK(state.windows == before.windows_per_epoch());
  CHECK(before.epoch() == Approx(170.0 * 4 / static_cast<double>(before.windows_per_epoch())));

  TrainLoader after(corpus.train(), options(32, 4, second_prefetch));
  after.next();  // a position to be replaced by the restore
  after.restore(state);
  CHECK(after.state().sequences == 170 * 4);
  CHECK(same(take(after, 30), std::vector<TokenBatch>(reference.begin() + 170, reference.end())));

  // The state also survives being written to text and read back (as a checkpoint stores it).
  const LoaderState parsed = LoaderState::parse(state.to_string());
  TrainLoader resumed(corpus.train(), options(32, 4, second_prefetch));
  resumed.restore(parsed);
  CHECK(same(take(resumed, 30), std::vector<TokenBatch>(reference.begin() + 170, reference.end())));
}

TEST_CASE("LoaderState text round trip", "[loader]") {
  LoaderState state;
  state.sequences = 4096;
  state.seed = 18446744073709551615ULL;
  state.seq_len = 256;
  state.windows = 9000;
  const std::string text = state.to_string();
  CHECK(text == "anvil-loader 1 sequences=4096 seed=18446744073709551615 seq_len=256 windows=9000");
  const LoaderState parsed = LoaderState::parse(text + "\n");
  CHECK(parsed.sequences == 4096);
  CHECK(parsed.seed == 18446744073709551615ULL);
  CHECK(parsed.seq_len == 256);
  CHECK(parsed.windows == 9000);
}

TEST_CASE("LoaderState parse errors name the field", "[loader]") {
  const std::string hint =
      " | HINT: the checkpoint's loader state is damaged; resume from another checkpoint";
  auto error_of = [&](const std::string& text) { return data_error([&] { LoaderState::parse(text); }); };
  CHECK(error_of("anvil-loader 1 sequences=1 seq_len=2 windows=3") ==
        "cannot read the loader state \"anvil-loader 1 sequences=1 seq_len=2 windows=3\": field seed is "
        "missing" +
            hint);
  CHECK_THAT(
      error_of("anvil-loader 1 sequences=1 seed=5 seq_len=abc windows=3"),
      Catch::Contains(": field seq_len is not an unsigned integer up to 9223372036854775807 (\"abc\")"));
  CHECK_THAT(error_of("anvil-loader 1 sequences=-1 seed=5 seq_len=2 windows=3"),
             Catch::Contains(": field sequences is not an unsigned integer"));
  CHECK_THAT(error_of("anvil-loader 1 sequences=1 seed=5 seq_len=2 windows=3x"),
             Catch::Contains(": field windows is not an unsigned integer"));
  CHECK_THAT(error_of("anvil-loader 1 sequences=1 seed=5 seq_len=2 windows=3 epoch=4"),
             Catch::Contains(": unknown field epoch"));
  CHECK_THAT(error_of("anvil-loader 1 sequences=1 sequences=2 seed=5 seq_len=2 windows=3"),
             Catch::Contains(": field sequences appears twice"));
  CHECK_THAT(error_of("anvil-loader 2 sequences=1 seed=5 seq_len=2 windows=3"),
             Catch::Contains(": version \"2\" is not supported (this Anvil reads version 1)"));
  CHECK_THAT(error_of("sequences=1"), Catch::Contains(": it does not start with \"anvil-loader\""));
}

TEST_CASE("restore refuses a state for another seed, seq_len or dataset", "[loader]") {
  const Corpus corpus(5000);
  TrainLoader loader(corpus.train(), options(16, 2));
  const LoaderState good = loader.state();
  const std::string hint = " | HINT: resume with the same dataset, seq_len and seed, or start a new run";

  LoaderState other = good;
  other.seed = 1;
  CHECK(data_error([&] { loader.restore(other); }) ==
        "cannot resume from the loader state: its seed is 1 but this run's is 1234" + hint);
  other = good;
  other.seq_len = 8;
  CHECK(data_error([&] { loader.restore(other); }) ==
        "cannot resume from the loader state: its seq_len is 8 but this run's is 16" + hint);
  other = good;
  other.windows = 10;
  CHECK(data_error([&] { loader.restore(other); }) ==
        "cannot resume from the loader state: its windows is 10 but this run's is " +
            std::to_string(loader.windows_per_epoch()) + hint);
}

TEST_CASE("ranks read disjoint windows that together cover an epoch", "[loader]") {
  const Corpus corpus(6001);
  const std::int64_t seq_len = 10;
  const std::int64_t batch_size = 4;
  const int world = 3;
  const std::uint64_t windows = 600;
  // Global sequences 0 .. windows-1 are one epoch; each rank takes its share of every global batch.
  std::vector<std::set<std::uint64_t>> per_rank(world);
  std::size_t rows_in_epoch = 0;
  for (int rank = 0; rank < world; ++rank) {
    LoaderOptions rank_options = options(seq_len, batch_size, rank == 1 ? 2 : 0);
    rank_options.rank = rank;
    rank_options.world = world;
    TrainLoader loader(corpus.train(), rank_options);
    REQUIRE(loader.windows_per_epoch() == windows);
    for (std::uint64_t k = 0; k * batch_size * world < windows; ++k) {
      const TokenBatch batch = loader.next();
      for (std::int64_t j = 0; j < batch_size; ++j) {
        const std::uint64_t sequence = k * batch_size * world + rank * batch_size + j;
        if (sequence >= windows) continue;
        per_rank[rank].insert(window_of(batch, j));
        ++rows_in_epoch;
      }
    }
  }
  CHECK(rows_in_epoch == windows);
  std::set<std::uint64_t> all;
  for (const auto& windows_of_rank : per_rank) all.insert(windows_of_rank.begin(), windows_of_rank.end());
  CHECK(all.size() == windows);
  CHECK(*all.rbegin() == windows - 1);
  for (int a = 0; a < world; ++a)
    for (int b = a + 1; b < world; ++b)
      for (const std::uint64_t w : per_rank[a]) CHECK(per_rank[b].count(w) == 0);

  // Rank r's rows are the rows of the single-process loader with a batch of batch_size * world.
  TrainLoader single(corpus.train(), options(seq_len, batch_size * world));
  LoaderOptions rank_two = options(seq_len, batch_size);
  rank_two.rank = 2;
  rank_two.world = world;
  TrainLoader two(corpus.train(), rank_two);
  for (int step = 0; step < 5; ++step) {
    const TokenBatch whole = single.next();
    const TokenBatch part = two.next();
    const auto offset = static_cast<std::ptrdiff_t>(2 * batch_size * seq_len);
    CHECK(std::equal(part.input.begin(), part.input.end(), whole.input.begin() + offset));
  }
}

TEST_CASE("a split shorter than seq_len + 1 is refused with a hint", "[loader]") {
  const Corpus corpus(16);
  CHECK(
      data_error([&] { TrainLoader(corpus.train(), options(16, 1)); }) ==
      "the split has 16 tokens, fewer than seq_len + 1 = 17 | HINT: lower seq_len or add data to the split");
  TrainLoader exact(corpus.train(), options(15, 1));
  CHECK(exact.windows_per_epoch() == 1);
}

TEST_CASE("bad loader options are refused", "[loader]") {
  const Corpus corpus(100);
  CHECK_THROWS_WITH(TrainLoader(corpus.train(), options(0, 1)),
                    "the loader's seq_len must be at least 1, not 0");
  CHECK_THROWS_WITH(TrainLoader(corpus.train(), options(8, 0)),
                    "the loader's batch_size must be at least 1, not 0");
  LoaderOptions bad_rank = options(8, 1);
  bad_rank.rank = 3;
  bad_rank.world = 3;
  CHECK_THROWS_WITH(TrainLoader(corpus.train(), bad_rank), "the loader's rank 3 is outside [0, 3)");
  CHECK_THROWS_WITH(TrainLoader(corpus.train(), options(8, 1, -1)),
                    "the loader's prefetch must be 0 or more, not -1");
  CHECK_THROWS_AS(ValidationBatches(corpus.train(), 8, 1, 1, 1), anvil::Error);
}

TEST_CASE("validation batches cover every target exactly once", "[loader]") {
  const std::size_t size = GENERATE(1001, 1000, 2);
  const int world = GENERATE(1, 3);
  const Corpus corpus(size);
  const std::int64_t seq_len = 10;
  const std::int64_t batch_size = 4;
  const std::uint64_t windows = (size - 1 + seq_len - 1) / seq_len;
  INFO("size = " << size << ", world = " << world);

  std::map<std::uint64_t, std::vector<std::int64_t>> targets_by_window;
  std::uint64_t targets_seen = 0;
  std::uint64_t counted = 0;
  for (int rank = 0; rank < world; ++rank) {
    ValidationBatches batches(corpus.train(), seq_len, batch_size, rank, world);
    std::uint64_t rank_targets = 0;
    std::uint64_t window = static_cast<std::uint64_t>(rank);
    TokenBatch batch;
    while (batches.next(batch)) {
      REQUIRE(batch.rows >= 1);
      REQUIRE(batch.rows <= batch_size);
      REQUIRE(batch.input.size() == static_cast<std::size_t>(batch.rows * seq_len));
      for (std::int64_t row = 0; row < batch.rows; ++row, window += world) {
        const std::uint64_t begin = window * seq_len;
        std::vector<std::int64_t>& targets = targets_by_window[window];
        for (std::int64_t i = 0; i < seq_len; ++i) {
          const auto at = static_cast<std::size_t>(row * seq_len + i);
          const std::uint64_t position = begin + static_cast<std::uint64_t>(i);
          // Padding: input 0 past the end of the stream, target kNoTarget past its last token.
          REQUIRE(batch.input[at] == (position < size ? corpus.tokens[position] : 0));
          REQUIRE(batch.target[at] == (position + 1 < size ? corpus.tokens[position + 1] : anvil::core::kNoTarget));
          if (batch.target[at] != anvil::core::kNoTarget) targets.push_back(batch.target[at]);
        }
        rank_targets += targets.size();
      }
    }
    CHECK(rank_targets == batches.target_count());
    counted += batches.target_count();
    targets_seen += rank_targets;

    // reset() starts the same pass again.
    batches.reset();
    TokenBatch again;
    REQUIRE(batches.next(again) == (static_cast<std::uint64_t>(rank) < windows));
  }
  CHECK(targets_by_window.size() == windows);
  std::vector<std::int64_t> concatenated;
  for (const auto& [window, targets] : targets_by_window)
    concatenated.insert(concatenated.end(), targets.begin(), targets.end());
  CHECK(concatenated == std::vector<std::int64_t>(corpus.tokens.begin() + 1, corpus.tokens.end()));
  CHECK(targets_seen == size - 1);
  CHECK(counted == size - 1);
}
