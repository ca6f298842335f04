#include "data/token_loader.h"

#include <anvil/errors.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace anvil::core {

namespace {

constexpr int kFeistelRounds = 6;
constexpr const char* kStateMagic = "anvil-loader";
constexpr const char* kStateVersion = "1";

/// splitmix64's finalizer: a cheap 64-bit mix whose output bits each depend on every input bit.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

void check_shape(std::int64_t seq_len, std::int64_t batch_size, int rank, int world) {
  if (seq_len < 1) throw DataError("the loader's seq_len must be at least 1, not " + std::to_string(seq_len));
  if (batch_size < 1)
    throw DataError("the loader's batch_size must be at least 1, not " + std::to_string(batch_size));
  if (world < 1) throw DataError("the loader's world size must be at least 1, not " + std::to_string(world));
  if (rank < 0 || rank >= world)
    throw DataError("the loader's rank " + std::to_string(rank) + " is outside [0, " + std::to_string(world) +
                    ")");
}

[[noreturn]] void state_error(const std::string& text, const std::string& problem) {
  throw DataError("cannot read the loader state \"" + text + "\": " + problem,
                  "the checkpoint's loader state is damaged; resume from another checkpoint");
}

}  // namespace

std::uint64_t permute_index(std::uint64_t index, std::uint64_t n, std::uint64_t seed, std::uint64_t epoch) {
  ANVIL_CHECK(index < n, "permute_index(", index, ", ", n, "): index out of range");
  if (n == 1) return 0;
  // A balanced Feistel network permutes [0, 2^bits) for an even bit count; values that land
  // at n or beyond walk on through the cycle until they come back into [0, n). The domain is
  // under 4n, so that takes few steps on average.
  int bits = 64 - __builtin_clzll(n - 1);
  bits += bits & 1;
  const int half = bits / 2;
  const std::uint64_t mask = (std::uint64_t{1} << half) - 1;
  std::uint64_t keys[kFeistelRounds];
  const std::uint64_t base = mix64(mix64(seed) ^ epoch);
  for (int round = 0; round < kFeistelRounds; ++round)
    keys[round] = mix64(base ^ static_cast<std::uint64_t>(round));

  std::uint64_t x = index;
  do {
    std::uint64_t left = x >> half;
    std::uint64_t right = x & mask;
    for (const std::uint64_t key : keys) {
      const std::uint64_t next = left ^ (mix64(right ^ key) & mask);
      left = right;
      right = next;
    }
    x = (left << half) | right;
  } while (x >= n);
  return x;
}

// --- LoaderState ---

std::string LoaderState::to_string() const {
  return std::string(kStateMagic) + " " + kStateVersion + " sequences=" + std::to_string(sequences) +
         " seed=" + std::to_string(seed) + " seq_len=" + std::to_string(seq_len) +
         " windows=" + std::to_string(windows);
}

LoaderState LoaderState::parse(const std::string& text) {
  std::istringstream in(text);
  std::string magic;
  std::string version;
  in >> magic >> version;
  if (magic != kStateMagic) state_error(text, "it does not start with \"" + std::string(kStateMagic) + "\"");
  if (version != kStateVersion)
    state_error(text, "version \"" + version + "\" is not supported (this Anvil reads version " +
                          kStateVersion + ")");

  std::map<std::string, std::string> fields;
  for (std::string item; in >> item;) {
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos) state_error(text, "\"" + item + "\" is not a field=value pair");
    const std::string key = item.substr(0, equals);
    if (key != "sequences" && key != "seed" && key != "seq_len" && key != "windows")
      state_error(text, "unknown field " + key);
    if (!fields.emplace(key, item.substr(equals + 1)).second)
      state_error(text, "field " + key + " appears twice");
  }
  auto number = [&](const std::string& key, std::uint64_t max) {
    const auto it = fields.find(key);
    if (it == fields.end()) state_error(text, "field " + key + " is missing");
    const std::string& value = it->second;
    std::uint64_t result = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
    if (value.empty() || error != std::errc{} || end != value.data() + value.size() || result > max)
      state_error(text, "field " + key + " is not an unsigned integer up to " + std::to_string(max) + " (\"" +
                            value + "\")");
    return result;
  };
  LoaderState state;
  const std::uint64_t any = std::numeric_limits<std::uint64_t>::max();
  state.sequences = number("sequences", any);
  state.seed = number("seed", any);
  state.seq_len = static_cast<std::int64_t>(number("seq_len", std::numeric_limits<std::int64_t>::max()));
  state.windows = number("windows", any);
  return state;
}

// --- TrainLoader ---

struct TrainLoader::Impl {
  /// A batch made ahead of time, or why it could not be made.
  struct Prepared {
    TokenBatch batch;
    std::exception_ptr error;
  };

  const TokenStream* tokens;
  LoaderOptions options;
  std::uint64_t windows;
  std::uint64_t position = 0;  // global sequences before the batch next() returns next

  // With prefetch, a producer thread fills `queue` with the batches at `position`, the next
  // position, and so on; the consumer takes them in order.
  std::thread producer;
  std::mutex mutex;
  std::condition_variable filled;   // a batch was queued
  std::condition_variable drained;  // room in the queue, or stopping
  std::deque<Prepared> queue;
  bool stopping = false;

  Impl(const TokenStream& stream, LoaderOptions opts) : tokens(&stream), options(opts) {
    check_shape(options.seq_len, options.batch_size, options.rank, options.world);
    if (options.prefetch < 0)
      throw DataError("the loader's prefetch must be 0 or more, not " + std::to_string(options.prefetch));
    const auto seq_len = static_cast<std::uint64_t>(options.seq_len);
    if (tokens->size() < seq_len + 1)
      throw DataError("the split has " + std::to_string(tokens->size()) +
                          " tokens, fewer than seq_len + 1 = " + std::to_string(seq_len + 1),
                      "lower seq_len or add data to the split");
    windows = (tokens->size() - 1) / seq_len;
  }
  ~Impl() { stop(); }

  std::uint64_t stride() const { return static_cast<std::uint64_t>(options.batch_size) * options.world; }

  /// The batch whose first global sequence (counting all ranks) is `first_global`.
  TokenBatch make_batch(std::uint64_t first_global) const {
    const std::int64_t rows = options.batch_size;
    const std::int64_t seq_len = options.seq_len;
    TokenBatch batch;
    batch.rows = rows;
    batch.seq_len = seq_len;
    batch.input.resize(static_cast<std::size_t>(rows * seq_len));
    batch.target.resize(static_cast<std::size_t>(rows * seq_len));
    const std::uint64_t first = first_global + static_cast<std::uint64_t>(options.rank) * rows;
    for (std::int64_t row = 0; row < rows; ++row) {
      const std::uint64_t sequence = first + static_cast<std::uint64_t>(row);
      const std::uint64_t epoch = sequence / windows;
      const std::uint64_t slot = sequence % windows;
      const std::uint64_t window = options.shuffle ? permute_index(slot, windows, options.seed, epoch) : slot;
      const std::uint64_t begin = window * static_cast<std::uint64_t>(seq_len);
      // Widening the (cache-hot) shard bytes twice moves less memory than copying int64 rows.
      tokens->read(begin, static_cast<std::size_t>(seq_len), batch.input.data() + row * seq_len);
      tokens->read(begin + 1, static_cast<std::size_t>(seq_len), batch.target.data() + row * seq_len);
    }
    return batch;
  }

  void start() {
    if (options.prefetch == 0) return;
    stopping = false;
    producer = std::thread([this, from = position] { produce(from); });
  }

  void stop() {
    if (!producer.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    drained.notify_all();
    producer.join();
    queue.clear();
  }

  void produce(std::uint64_t next) {
    const auto capacity = static_cast<std::size_t>(options.prefetch);
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        drained.wait(lock, [&] { return stopping || queue.size() < capacity; });
        if (stopping) return;
      }
      Prepared prepared;
      try {
        prepared.batch = make_batch(next);
      } catch (...) {
        prepared.error = std::current_exception();
      }
      const bool failed = prepared.error != nullptr;
      {
        std::lock_guard<std::mutex> lock(mutex);
        queue.push_back(std::move(prepared));
      }
      filled.notify_one();
      // A failure stays at the front of the queue: every later next() reports it.
      if (failed) return;
      next += stride();
    }
  }

  TokenBatch take_prefetched() {
    std::unique_lock<std::mutex> lock(mutex);
    filled.wait(lock, [&] { return !queue.empty(); });
    if (queue.front().error) std::rethrow_exception(queue.front().error);
    TokenBatch batch = std::move(queue.front().batch);
    queue.pop_front();
    lock.unlock();
    drained.notify_one();
    return batch;
  }
};

TrainLoader::TrainLoader(const TokenStream& tokens, LoaderOptions options)
    : impl_(new Impl(tokens, options)) {
  impl_->start();
}

TrainLoader::~TrainLoader() = default;

TokenBatch TrainLoader::next() {
  Impl& impl = *impl_;
  TokenBatch batch = impl.options.prefetch == 0 ? impl.make_batch(impl.position) : impl.take_prefetched();
  impl.position += impl.stride();
  return batch;
}

LoaderState TrainLoader::state() const {
  LoaderState state;
  state.sequences = impl_->position;
  state.seed = impl_->options.seed;
  state.seq_len = impl_->options.seq_len;
  state.windows = impl_->windows;
  return state;
}

void TrainLoader::restore(const LoaderState& state) {
  Impl& impl = *impl_;
  auto check = [](const char* field, auto saved, auto current) {
    if (saved != current)
      throw DataError("cannot resume from the loader state: its " + std::string(field) + " is " +
                          std::to_string(saved) + " but this run's is " + std::to_string(current),
                      "resume with the same dataset, seq_len and seed, or start a new run");
  };
  check("seed", state.seed, impl.options.seed);
  check("seq_len", state.seq_len, impl.options.seq_len);
  check("windows", state.windows, impl.windows);
  impl.stop();
  impl.position = state.sequences;
  impl.start();
}

std::uint64_t TrainLoader::windows_per_epoch() const noexcept { return impl_->windows; }

double TrainLoader::epoch() const noexcept {
  return static_cast<double>(impl_->position) / static_cast<double>(impl_->windows);
}

// --- ValidationBatches ---

ValidationBatches::ValidationBatches(const TokenStream& tokens, std::int64_t seq_len, std::int64_t batch_size,
                                     int rank, int world)
    : tokens_(&tokens), seq_len_(seq_len), batch_size_(batch_size), rank_(rank), world_(world) {
  check_shape(seq_len, batch_size, rank, world);
  // Window w predicts tokens w*T+1 .. w*T+T; the windows together predict tokens 1 .. N-1.
  const std::uint64_t targets = tokens.size() < 2 ? 0 : tokens.size() - 1;
  const auto stride = static_cast<std::uint64_t>(seq_len);
  windows_ = (targets + stride - 1) / stride;
  next_window_ = static_cast<std::uint64_t>(rank);
}

bool ValidationBatches::next(TokenBatch& batch) {
  const std::int64_t seq_len = seq_len_;
  const auto stride = static_cast<std::uint64_t>(seq_len);
  batch.seq_len = seq_len;
  batch.input.resize(static_cast<std::size_t>(batch_size_ * seq_len));
  batch.target.resize(static_cast<std::size_t>(batch_size_ * seq_len));
  std::int64_t rows = 0;
  for (; rows < batch_size_ && next_window_ < windows_;
       ++rows, next_window_ += static_cast<std::uint64_t>(world_)) {
    std::int64_t* input = batch.input.data() + rows * seq_len;
    std::int64_t* target = batch.target.data() + rows * seq_len;
    const std::uint64_t begin = next_window_ * stride;
    // Only the last window is short: it has fewer than seq_len targets after it.
    const auto available =
        static_cast<std::size_t>(std::min<std::uint64_t>(stride + 1, tokens_->size() - begin));
    const std::size_t inputs = std::min(available, static_cast<std::size_t>(seq_len));
    const std::size_t targets = available - 1;
    tokens_->read(begin, inputs, input);
    tokens_->read(begin + 1, targets, target);
    std::fill(input + inputs, input + seq_len, 0);
    std::fill(target + targets, target + seq_len, kNoTarget);
  }
  batch.rows = rows;
  batch.input.resize(static_cast<std::size_t>(rows * seq_len));
  batch.target.resize(static_cast<std::size_t>(rows * seq_len));
  return rows > 0;
}

void ValidationBatches::reset() { next_window_ = static_cast<std::uint64_t>(rank_); }

std::uint64_t ValidationBatches::target_count() const noexcept {
  const auto rank = static_cast<std::uint64_t>(rank_);
  if (windows_ <= rank) return 0;
  const auto stride = static_cast<std::uint64_t>(seq_len_);
  const std::uint64_t mine = (windows_ - 1 - rank) / static_cast<std::uint64_t>(world_) + 1;
  const bool owns_last = (windows_ - 1) % static_cast<std::uint64_t>(world_) == rank;
  const std::uint64_t last_targets = tokens_->size() - 1 - (windows_ - 1) * stride;
  return mine * stride - (owns_last ? stride - last_targets : 0);
}

}  // namespace anvil::core
