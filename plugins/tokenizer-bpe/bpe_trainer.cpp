// Byte-level BPE training (bpe_trainer.h).
//
// Counting: the calling thread reads documents and packs them into ~1 MiB chunks that go
// through a bounded queue to `threads` workers, so memory stays at a few chunks per worker
// whatever the corpus size (plus the word tables, which grow with the number of distinct
// words). A document is never split across chunks, so one huge document is held whole, with
// its pieces (16 bytes each) while a worker counts it. Each worker cuts a document at the
// special tokens, pre-tokenizes the spans between them and counts the pieces in its own hash
// table, split into kShards shards by hash; the shards are then merged across workers in
// parallel, shard by shard. max_input_bytes cuts the document that reaches it mid-document.
//
// Merging: every distinct word of two bytes or more becomes a run of symbol ids in one flat
// array. Each adjacent pair has a count (summed over words, weighted by word count) and a list
// of the words it occurs in. A max-heap holds (count, pair) entries; an entry whose count no
// longer matches the pair's is stale and is refreshed when popped. Merging a pair rewrites only
// the words on its list, adjusting the counts of the neighbouring pairs as it goes.
//
// Ids: the 256 bytes are internal ids 0..255 and each new token takes the next internal id;
// the final id is the number of special tokens plus the internal id, so ties (same count,
// smallest (left, right)) compare internal ids. Should a merge produce a string that is
// already a token ("a"+"bc" after "ab"+"c"; never seen in 300k random corpora, since merges
// apply everywhere left to right), it reuses that token's id and adds no token, as Hugging Face
// tokenizers does; the merge is still recorded.

#include "bpe_trainer.h"

#include "byte_level.h"

#include <anvil/errors.h>
#include <anvil/parallel.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace anvil::builtin {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;  // documents per work item, in bytes
constexpr unsigned kShardBits = 6;
constexpr std::size_t kShards = std::size_t{1} << kShardBits;  // word-table shards per worker

// ---------------------------------------------------------------------------------------------
// Hashing

inline std::uint64_t fmix64(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// A fast hash for short byte strings (pre-tokenized words): 8 bytes at a time, then a final mix.
std::uint64_t hash_bytes(std::string_view s) {
  constexpr std::uint64_t kMul = 0x9fb21c651e98df25ULL;
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(s.size()) * kMul);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * kMul;
  }
  return fmix64(h);
}

inline void prefetch_address(const void* address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address);
#else
  (void)address;
#endif
}

inline std::size_t shard_of(std::uint64_t hash) { return static_cast<std::size_t>(hash >> (64 - kShardBits)); }

// ---------------------------------------------------------------------------------------------
// Word counting

/// word -> count, open addressing with linear probing. Words of up to kInline bytes (nearly
/// all of them) are stored in the slot itself, zero-padded, so a lookup touches one cache line
/// and compares two integers; longer words live in an arena.
class WordTable {
 public:
  static constexpr std::size_t kInline = 12;
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t count = 0;  // 0 marks an empty slot
    std::uint32_t length = 0;
    char data[kInline] = {};  // the word (zero-padded), or its arena offset when longer
  };
  static_assert(sizeof(Slot) == 32, "one slot per half cache line");

  WordTable() : slots_(kInitialSlots) {}

  void add(std::string_view word, std::uint64_t hash, std::uint64_t count) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    const bool short_word = word.size() <= kInline;
    char padded[kInline] = {};
    if (short_word) std::memcpy(padded, word.data(), word.size());
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.count == 0) {
        slot.hash = hash;
        slot.count = count;
        slot.length = static_cast<std::uint32_t>(word.size());
        if (short_word) {
          std::memcpy(slot.data, padded, kInline);
        } else {
          const std::uint64_t offset = arena_.size();
          std::memcpy(slot.data, &offset, sizeof offset);
          arena_.append(word.data(), word.size());
        }
        ++size_;
        return;
      }
      if (slot.hash == hash && slot.length == word.size() &&
          (short_word ? std::memcmp(slot.data, padded, kInline) == 0
                      : std::memcmp(long_word(slot), word.data(), word.size()) == 0)) {
        slot.count += count;
        return;
      }
    }
  }

  /// Starts loading the slot a word of this hash is looked up at first.
  void prefetch(std::uint64_t hash) const noexcept {
    prefetch_address(&slots_[static_cast<std::size_t>(hash) & (slots_.size() - 1)]);
  }

  std::size_t size() const noexcept { return size_; }
  const std::vector<Slot>& slots() const noexcept { return slots_; }
  /// The word of a slot of this table (valid while the table is unchanged).
  std::string_view word(const Slot& slot) const noexcept {
    return slot.length <= kInline ? std::string_view(slot.data, slot.length)
                                  : std::string_view(long_word(slot), slot.length);
  }

 private:
  static constexpr std::size_t kInitialSlots = 64;

  const char* long_word(const Slot& slot) const noexcept {
    std::uint64_t offset;
    std::memcpy(&offset, slot.data, sizeof offset);
    return arena_.data() + offset;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.count == 0) continue;
      std::size_t i = static_cast<std::size_t>(slot.hash) & mask;
      while (slots_[i].count != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t size_ = 0;
};

/// One worker's counts, sharded by the top bits of the hash so shards merge independently.
class ShardedCounts {
 public:
  std::array<WordTable, kShards> shards;

  /// Counts `pieces`. Most lookups miss the cache, so the slots are prefetched a few pieces
  /// ahead: the more pieces per call, the better.
  void add(const std::vector<std::string_view>& pieces) {
    constexpr std::size_t kAhead = 16;
    const std::size_t n = pieces.size();
    hashes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) hashes_[i] = hash_bytes(pieces[i]);
    for (std::size_t i = 0; i < n && i < kAhead; ++i) shards[shard_of(hashes_[i])].prefetch(hashes_[i]);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) shards[shard_of(hashes_[i + kAhead])].prefetch(hashes_[i + kAhead]);
      shards[shard_of(hashes_[i])].add(pieces[i], hashes_[i], 1);
    }
  }

 private:
  std::vector<std::uint64_t> hashes_;
};

/// Finds special tokens in text: leftmost occurrence first, the longest one where several
/// start at the same byte.
class SpecialSplitter {
 public:
  explicit SpecialSplitter(const std::vector<std::string>& specials) : specials_(specials) {}

  /// Calls `span(text)` for each non-empty stretch of `text` between special tokens, in order.
  /// `next` is scratch space (the next match of each special).
  template <class F>
  void for_each_span(std::string_view text, std::vector<std::size_t>& next, F&& span) const {
    if (specials_.empty()) {
      if (!text.empty()) span(text);
      return;
    }
    next.assign(specials_.size(), 0);
    for (std::size_t i = 0; i < specials_.size(); ++i) next[i] = text.find(specials_[i]);
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t best = std::string_view::npos, best_length = 0;
      for (std::size_t i = 0; i < specials_.size(); ++i) {
        // A match that starts before `pos` overlapped the previous special: look again.
        if (next[i] < pos) next[i] = text.find(specials_[i], pos);
        if (next[i] < best || (next[i] == best && next[i] != std::string_view::npos &&
                               specials_[i].size() > best_length)) {
          best = next[i];
          best_length = specials_[i].size();
        }
      }
      if (best == std::string_view::npos) {
        span(text.substr(pos));
        return;
      }
      if (best > pos) span(text.substr(pos, best - pos));
      pos = best + best_length;
    }
  }

 private:
  const std::vector<std::string>& specials_;
};

// ---------------------------------------------------------------------------------------------
// Reader -> workers queue

struct Chunk {
  std::string text;                // documents, back to back
  std::vector<std::size_t> ends;   // end offset of each document in `text`
};

/// A bounded queue of chunks that also recycles their buffers. abort() stops both sides.
class ChunkQueue {
 public:
  explicit ChunkQueue(std::size_t capacity) : capacity_(capacity) {}

  /// Blocks while the queue is full. Returns false once aborted.
  bool push(Chunk&& chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(chunk));
    not_empty_.notify_one();
    return true;
  }

  /// Blocks until a chunk is available. Returns false when closed and drained, or aborted.
  bool pop(Chunk& chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return false;
    chunk = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

  /// Stops everything; the first error recorded is the one rethrown.
  void abort(std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::move(error);
    aborted_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::exception_ptr error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

  /// An empty chunk, reusing a returned buffer when there is one.
  Chunk fresh() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!spare_.empty()) {
        Chunk chunk = std::move(spare_.back());
        spare_.pop_back();
        return chunk;
      }
    }
    Chunk chunk;
    chunk.text.reserve(kChunkBytes + kChunkBytes / 4);
    return chunk;
  }

  void recycle(Chunk&& chunk) {
    chunk.text.clear();
    chunk.ends.clear();
    if (chunk.text.capacity() > 4 * kChunkBytes) return;  // one huge document: let it go
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.size() < capacity_) spare_.push_back(std::move(chunk));
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Chunk> items_;
  std::vector<Chunk> spare_;
  std::size_t capacity_;
  bool closed_ = false;
  bool aborted_ = false;
  std::exception_ptr error_;
};

/// Result of the counting phase: the merged word tables, one per shard.
struct WordCounts {
  std::vector<WordTable> shards;
  std::uint64_t bytes_read = 0;
  std::uint64_t documents = 0;
};

WordCounts count_words(TextSource& corpus, const Pretokenizer& pretokenizer,
                       const BpeTrainOptions& options, int threads) {
  const SpecialSplitter splitter(options.special_tokens);
  std::vector<ShardedCounts> counts(static_cast<std::size_t>(threads));
  ChunkQueue queue(2 * static_cast<std::size_t>(threads));

  auto work = [&](ShardedCounts& mine) {
    try {
      Chunk chunk;
      std::vector<std::string_view> pieces;
      std::vector<std::size_t> scratch;
      while (queue.pop(chunk)) {
        // Pieces point into the chunk: gathered over many documents, counted in batches.
        const std::string_view text = chunk.text;
        std::size_t begin = 0;
        for (const std::size_t end : chunk.ends) {
          splitter.for_each_span(text.substr(begin, end - begin), scratch, [&](std::string_view span) {
            pretokenizer.split(span, pieces);
            if (pieces.size() >= 4096) {
              mine.add(pieces);
              pieces.clear();
            }
          });
          begin = end;
        }
        mine.add(pieces);
        pieces.clear();
        queue.recycle(std::move(chunk));
      }
    } catch (...) {
      queue.abort(std::current_exception());
    }
  };

  WordCounts result;
  std::vector<std::thread> workers;
  workers.reserve(counts.size());
  try {
    for (auto& mine : counts) workers.emplace_back(work, std::ref(mine));
    // The reader: this thread.
    const std::uint64_t limit = options.max_input_bytes;
    std::uint64_t reported = 0;
    auto hand_off = [&](Chunk& chunk) {
      const bool ok = queue.push(std::move(chunk));
      if (ok && options.progress && result.bytes_read > reported) {
        reported = result.bytes_read;
        options.progress(result.bytes_read);
      }
      return ok;
    };
    Chunk chunk = queue.fresh();
    std::string document;
    bool running = true;
    while (running && corpus.next(document)) {
      ++result.documents;
      std::size_t take = document.size();
      if (limit != 0 && result.bytes_read + take >= limit) {
        // The document that reaches the limit is cut there, mid-document (possibly mid-word
        // or mid-character), and reading stops: bytes_read == max_input_bytes exactly.
        take = static_cast<std::size_t>(limit - result.bytes_read);
        running = false;
      }
      chunk.text.append(document, 0, take);
      chunk.ends.push_back(chunk.text.size());
      result.bytes_read += take;
      if (chunk.text.size() >= kChunkBytes) {
        if (!hand_off(chunk)) break;
        chunk = queue.fresh();
      }
    }
    if (!chunk.ends.empty()) hand_off(chunk);
    queue.close();
  } catch (...) {
    queue.abort(std::current_exception());
  }
  for (auto& worker : workers) worker.join();
  if (auto error = queue.error()) std::rethrow_exception(error);

  // Merge each shard across workers into the worker table that holds the most words.
  result.shards.resize(kShards);
  anvil::parallel_for(kShards, threads, [&](std::size_t s) {
    std::size_t largest = 0;
    for (std::size_t t = 1; t < counts.size(); ++t)
      if (counts[t].shards[s].size() > counts[largest].shards[s].size()) largest = t;
    WordTable merged = std::move(counts[largest].shards[s]);
    for (std::size_t t = 0; t < counts.size(); ++t) {
      if (t == largest) continue;
      WordTable& other = counts[t].shards[s];
      for (const auto& slot : other.slots())
        if (slot.count != 0) merged.add(other.word(slot), slot.hash, slot.count);
      other = WordTable();
    }
    result.shards[s] = std::move(merged);
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Merging

inline std::uint64_t pack(std::uint32_t left, std::uint32_t right) {
  return (static_cast<std::uint64_t>(left) << 32) | right;
}

/// Pair key -> pair index, open addressing (keys are never removed).
class PairIndex {
 public:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  PairIndex() { rehash(1024); }

  std::uint32_t find(std::uint64_t key) const {
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Entry& entry = entries_[i];
      if (entry.key == key) return entry.value;
      if (entry.key == kEmptyKey) return kNone;
    }
  }

  /// The index of `key`, inserting `fresh` when the key is new (then `inserted` is set).
  std::uint32_t find_or_insert(std::uint64_t key, std::uint32_t fresh, bool& inserted) {
    if ((size_ + 1) * 2 > entries_.size()) rehash(entries_.size() * 2);
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
      Entry& entry = entries_[i];
      if (entry.key == key) {
        inserted = false;
        return entry.value;
      }
      if (entry.key == kEmptyKey) {
        entry.key = key;
        entry.value = fresh;
        ++size_;
        inserted = true;
        return fresh;
      }
    }
  }

  void reserve(std::size_t n) {
    std::size_t slots = entries_.size();
    while (n * 2 > slots) slots *= 2;
    if (slots != entries_.size()) rehash(slots);
  }

 private:
  // No pair of ids is (2^32-1, 2^32-1): ids stay far below that.
  static constexpr std::uint64_t kEmptyKey = ~std::uint64_t{0};
  struct Entry {
    std::uint64_t key = kEmptyKey;
    std::uint32_t value = 0;
  };

  std::size_t slot_of(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> shift_);
  }

  void rehash(std::size_t slots) {
    std::vector<Entry> old(slots);
    old.swap(entries_);
    mask_ = slots - 1;
    shift_ = 64;
    for (std::size_t s = slots; s > 1; s >>= 1) --shift_;
    for (const Entry& entry : old) {
      if (entry.key == kEmptyKey) continue;
      std::size_t i = slot_of(entry.key);
      while (entries_[i].key != kEmptyKey) i = (i + 1) & mask_;
      entries_[i] = entry;
    }
  }

  std::vector<Entry> entries_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

struct HeapEntry {
  std::int64_t count;
  std::uint64_t key;  // (left << 32) | right: comparing keys compares (left, right)
};

/// Max-heap order: higher count first, then the smaller pair.
struct HeapLess {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    return a.count != b.count ? a.count < b.count : a.key > b.key;
  }
};

class Merger {
 public:
  Merger(const WordCounts& counts, int threads, std::int64_t min_count)
      : min_count_(min_count) {
    load_words(counts, threads);
    token_bytes_.reserve(512);
    for (int b = 0; b < 256; ++b) {
      token_bytes_.emplace_back(1, static_cast<char>(b));
      token_ids_.emplace(token_bytes_.back(), static_cast<std::uint32_t>(b));
    }
  }

  /// Merges until there are `max_tokens` tokens (bytes included) or no pair is frequent enough.
  void run(std::size_t max_tokens) {
    if (token_bytes_.size() >= max_tokens) return;
    count_pairs();
    while (token_bytes_.size() < max_tokens && !heap_.empty()) {
      const HeapEntry top = heap_.front();
      std::pop_heap(heap_.begin(), heap_.end(), HeapLess());
      heap_.pop_back();
      const std::uint32_t pair = index_.find(top.key);
      const std::int64_t current = pair_count_[pair];
      if (current != top.count) {
        // Stale. A count only drops after its entry was pushed (a rise pushes a new entry), so
        // refresh it; an entry below the current count has a fresher twin and is dropped.
        if (current < top.count && current >= min_count_) push(current, top.key);
        continue;
      }
      merge(pair, top.key);
    }
  }

  const std::vector<std::string>& token_bytes() const noexcept { return token_bytes_; }
  const std::vector<std::pair<std::uint32_t, std::uint32_t>>& merges() const noexcept { return merges_; }
  std::uint64_t distinct_words() const noexcept { return distinct_words_; }

 private:
  void load_words(const WordCounts& counts, int threads) {
    // Words of one byte have no pairs: they are counted in the stats and otherwise dropped.
    std::vector<std::uint64_t> word_base(kShards + 1, 0), symbol_base(kShards + 1, 0);
    for (std::size_t s = 0; s < kShards; ++s) {
      std::uint64_t words = 0, symbols = 0;
      for (const auto& slot : counts.shards[s].slots())
        if (slot.count != 0 && slot.length >= 2) {
          ++words;
          symbols += slot.length;
        }
      word_base[s + 1] = word_base[s] + words;
      symbol_base[s + 1] = symbol_base[s] + symbols;
      distinct_words_ += counts.shards[s].size();
    }
    const std::size_t n = static_cast<std::size_t>(word_base[kShards]);
    if (n >= PairIndex::kNone)
      throw Error("BPE training found " + std::to_string(n) + " distinct words; at most " +
                      std::to_string(PairIndex::kNone - 1) + " are supported",
                  "lower max_input_bytes");
    symbols_.resize(static_cast<std::size_t>(symbol_base[kShards]));
    words_.resize(n);
    anvil::parallel_for(kShards, threads, [&](std::size_t s) {
      std::size_t w = static_cast<std::size_t>(word_base[s]);
      std::size_t at = static_cast<std::size_t>(symbol_base[s]);
      const WordTable& table = counts.shards[s];
      for (const auto& slot : table.slots()) {
        if (slot.count == 0 || slot.length < 2) continue;
        words_[w] = {static_cast<std::uint64_t>(at), static_cast<std::int64_t>(slot.count), slot.length, 0};
        for (const char c : table.word(slot)) symbols_[at++] = static_cast<unsigned char>(c);
        ++w;
      }
    });
  }

  void count_pairs() {
    index_.reserve(std::min<std::size_t>(symbols_.size(), std::size_t{1} << 22));
    for (std::uint32_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      const std::uint32_t* s = &symbols_[word.begin];
      for (std::uint32_t i = 0; i + 1 < word.length; ++i) {
        const std::uint32_t pair = pair_of(pack(s[i], s[i + 1]));
        pair_count_[pair] += word.count;
        add_word(pair, w);
      }
    }
    heap_.reserve(pair_count_.size());
    for (std::size_t p = 0; p < pair_count_.size(); ++p)
      if (pair_count_[p] >= min_count_) heap_.push_back({pair_count_[p], pair_key_[p]});
    std::make_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  std::uint32_t pair_of(std::uint64_t key) {
    bool inserted = false;
    const std::uint32_t pair =
        index_.find_or_insert(key, static_cast<std::uint32_t>(pair_count_.size()), inserted);
    if (inserted) {
      pair_key_.push_back(key);
      pair_count_.push_back(0);
      pair_words_.emplace_back();
      pair_step_.push_back(0);
    }
    return pair;
  }

  // Words are processed one after another, so checking the last entry is enough to list a word
  // once per pass; across merges a word may be listed again (duplicates are skipped when read).
  void add_word(std::uint32_t pair, std::uint32_t word) {
    auto& words = pair_words_[pair];
    if (words.empty() || words.back() != word) words.push_back(word);
  }

  void push(std::int64_t count, std::uint64_t key) {
    heap_.push_back({count, key});
    std::push_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  void decrement(std::uint64_t key, std::int64_t by) {
    const std::uint32_t pair = index_.find(key);
    assert(pair != PairIndex::kNone);
    pair_count_[pair] -= by;
  }

  void increment(std::uint64_t key, std::int64_t by, std::uint32_t word) {
    const std::uint32_t pair = pair_of(key);
    pair_count_[pair] += by;
    add_word(pair, word);
    if (pair_step_[pair] != step_) {
      pair_step_[pair] = step_;
      touched_.push_back(pair);
    }
  }

  void merge(std::uint32_t pair, std::uint64_t key) {
    const auto left = static_cast<std::uint32_t>(key >> 32);
    const auto right = static_cast<std::uint32_t>(key);
    std::string bytes = token_bytes_[left] + token_bytes_[right];
    const auto found = token_ids_.find(bytes);
    std::uint32_t merged;
    if (found != token_ids_.end()) {
      merged = found->second;  // already a token (reached by other merges): reuse its id
    } else {
      merged = static_cast<std::uint32_t>(token_bytes_.size());
      token_ids_.emplace(bytes, merged);
      token_bytes_.push_back(std::move(bytes));
    }
    merges_.emplace_back(left, right);
    ++step_;

    // Moved out: new pairs may be appended to pair_words_ (reallocating it) while we iterate.
    const std::vector<std::uint32_t> words = std::move(pair_words_[pair]);
    pair_words_[pair] = {};
    const std::size_t n = words.size();
    for (std::size_t i = 0; i < n; ++i) {
      // The words are scattered over memory: fetch a few ahead (record, then its symbols).
      if (i + 8 < n) prefetch_address(&words_[words[i + 8]]);
      if (i + 4 < n) prefetch_address(&symbols_[words_[words[i + 4]].begin]);
      const std::uint32_t w = words[i];
      if (words_[w].stamp == step_) continue;  // listed twice
      words_[w].stamp = step_;
      merge_word(w, left, right, merged, pair);
    }
    assert(pair_count_[pair] == 0);
    for (const std::uint32_t p : touched_)
      if (pair_count_[p] >= min_count_) push(pair_count_[p], pair_key_[p]);
    touched_.clear();
  }

  // Replaces each (left, right) in word `w`, left to right and non-overlapping, and updates the
  // counts of the pairs around each replacement. `out` (the rewritten prefix) trails `in`, so the
  // symbol before a replacement is the already-rewritten one and chains like "a b a b" count
  // right.
  void merge_word(std::uint32_t w, std::uint32_t left, std::uint32_t right, std::uint32_t merged,
                  std::uint32_t pair) {
    Word& word = words_[w];
    std::uint32_t* s = &symbols_[word.begin];
    const std::uint32_t n = word.length;
    const std::int64_t c = word.count;
    std::uint32_t in = 0, out = 0, replaced = 0;
    while (in < n) {
      if (s[in] == left && in + 1 < n && s[in + 1] == right) {
        if (out > 0) {
          decrement(pack(s[out - 1], left), c);
          increment(pack(s[out - 1], merged), c, w);
        }
        if (in + 2 < n) {
          decrement(pack(right, s[in + 2]), c);
          increment(pack(merged, s[in + 2]), c, w);
        }
        s[out++] = merged;
        in += 2;
        ++replaced;
      } else {
        s[out++] = s[in++];
      }
    }
    word.length = out;
    pair_count_[pair] -= c * replaced;
  }

  std::int64_t min_count_;
  std::uint64_t distinct_words_ = 0;
  // Word w is symbols_[words_[w].begin ..][0, words_[w].length), seen words_[w].count times.
  struct Word {
    std::uint64_t begin;
    std::int64_t count;
    std::uint32_t length;
    std::uint32_t stamp;  // the last merge step that rewrote it
  };
  std::vector<Word> words_;
  std::vector<std::uint32_t> symbols_;
  // Pairs, by index.
  PairIndex index_;
  std::vector<std::uint64_t> pair_key_;
  std::vector<std::int64_t> pair_count_;
  std::vector<std::vector<std::uint32_t>> pair_words_;  // words it was seen in (may be stale)
  std::vector<std::uint32_t> pair_step_;  // last step the pair was put on touched_
  std::vector<std::uint32_t> touched_;    // pairs whose count rose in this step
  std::vector<HeapEntry> heap_;
  std::uint32_t step_ = 0;
  // Tokens, by internal id.
  std::vector<std::string> token_bytes_;
  std::unordered_map<std::string, std::uint32_t> token_ids_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> merges_;
};

void check_options(const BpeTrainOptions& options) {
  const auto& specials = options.special_tokens;
  const std::int64_t minimum = 256 + static_cast<std::int64_t>(specials.size());
  if (options.vocab_size < minimum)
    throw Error("vocab_size " + std::to_string(options.vocab_size) +
                    " is smaller than the 256 byte tokens plus " + std::to_string(specials.size()) +
                    " special tokens",
                "set vocab_size to at least " + std::to_string(minimum) +
                    " (GPT-2 uses 50257, GPT-4 about 100k)");
  for (std::size_t i = 0; i < specials.size(); ++i) {
    if (specials[i].empty())
      throw Error("special token " + std::to_string(i + 1) + " is empty",
                  "remove it from special_tokens");
    for (std::size_t j = 0; j < i; ++j)
      if (specials[j] == specials[i])
        throw Error("special token \"" + specials[i] + "\" is listed twice",
                    "list each special token once");
  }
  if (options.threads < 0)
    throw Error("threads is " + std::to_string(options.threads) + "; it must be 0 (all cores) or more");
}

}  // namespace

BpeVocabulary train_bpe(TextSource& corpus, const Pretokenizer& pretokenizer,
                        const BpeTrainOptions& options, BpeTrainStats* stats) {
  check_options(options);
  const int threads = anvil::resolve_threads(options.threads);

  const auto count_start = Clock::now();
  WordCounts counts = count_words(corpus, pretokenizer, options, threads);
  const double count_seconds = seconds_since(count_start);

  const auto merge_start = Clock::now();
  const std::size_t specials = options.special_tokens.size();
  Merger merger(counts, threads, std::max<std::int64_t>(1, options.min_frequency));
  counts.shards.clear();
  counts.shards.shrink_to_fit();
  merger.run(static_cast<std::size_t>(options.vocab_size) - specials);

  BpeVocabulary vocabulary;
  vocabulary.special_tokens = options.special_tokens;
  vocabulary.tokens.reserve(specials + merger.token_bytes().size());
  vocabulary.tokens = options.special_tokens;
  std::vector<std::string> symbols;
  symbols.reserve(merger.token_bytes().size());
  for (const auto& bytes : merger.token_bytes()) symbols.push_back(bytes_to_symbols(bytes));
  vocabulary.tokens.insert(vocabulary.tokens.end(), symbols.begin(), symbols.end());
  vocabulary.merges.reserve(merger.merges().size());
  for (const auto& [left, right] : merger.merges())
    vocabulary.merges.emplace_back(symbols[left], symbols[right]);

  if (stats) {
    stats->bytes_read = counts.bytes_read;
    stats->documents = counts.documents;
    stats->distinct_words = merger.distinct_words();
    stats->count_seconds = count_seconds;
    stats->merge_seconds = seconds_since(merge_start);
  }
  return vocabulary;
}

}  // namespace anvil::builtin
