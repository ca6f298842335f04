// The byte-level BPE model (bpe_model.h).
#include "bpe_model.h"

#include "byte_level.h"

#include <anvil/errors.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <queue>
#include <string>

namespace anvil::builtin {
namespace {

constexpr std::uint32_t kNoRank = std::numeric_limits<std::uint32_t>::max();

// Pieces up to this many bytes are merged by rescanning a small array on the stack; longer
// ones (long runs of spaces or digits, a blob of invalid UTF-8) through a heap.
constexpr std::size_t kScanMaxBytes = 64;

// Word cache: pieces up to kCacheMaxBytes, in kCacheShards shards each behind its own mutex.
// A shard is an open-addressing table of kCacheShardSlots slots over two arenas (piece bytes,
// ids), allocated on first use and emptied when it holds kCacheShardEntries words, so the
// whole cache stays below ~20 MiB whatever the input.
constexpr std::size_t kCacheMaxBytes = 128;
constexpr std::size_t kCacheShardBits = 6;
constexpr std::size_t kCacheShards = std::size_t{1} << kCacheShardBits;
constexpr std::size_t kCacheShardSlots = 8192;
constexpr std::size_t kCacheShardEntries = kCacheShardSlots / 2;

// A fast 64-bit hash of a short byte string; never 0 (0 marks an empty cache slot).
std::uint64_t hash_piece(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (s.size() * 0xFF51AFD7ED558CCDULL);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0x94D049BB133111EBULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return h | 1;
}

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string hex_byte(int b) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02X", b);
  return text;
}

}  // namespace

// Open addressing over (left, right) -> (rank, merged): the merge loop's hot lookup.
struct BpeModel::MergeTable {
  struct Slot {
    std::uint64_t key = kEmpty;
    std::uint32_t rank = kNoRank;
    std::int32_t merged = -1;
  };
  static constexpr std::uint64_t kEmpty = std::numeric_limits<std::uint64_t>::max();
  std::vector<Slot> slots;
  std::uint64_t mask = 0;
  unsigned shift = 0;

  explicit MergeTable(std::size_t entries) {
    std::size_t capacity = 16;
    unsigned bits = 4;
    while (capacity < entries * 2) {
      capacity <<= 1;
      ++bits;
    }
    slots.assign(capacity, Slot{});
    mask = capacity - 1;
    shift = 64 - bits;
  }
  std::size_t home(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift);
  }
  // Returns false when the key is already present (its slot is left as it was).
  bool insert(std::uint64_t key, std::uint32_t rank, std::int32_t merged) {
    for (std::size_t i = home(key);; i = (i + 1) & mask) {
      if (slots[i].key == key) return false;
      if (slots[i].key == kEmpty) {
        slots[i] = Slot{key, rank, merged};
        return true;
      }
    }
  }
  const Slot* find(std::uint64_t key) const {
    for (std::size_t i = home(key);; i = (i + 1) & mask) {
      if (slots[i].key == key) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

struct BpeModel::WordCache {
  struct Slot {
    std::uint64_t hash = 0;  // 0: empty
    std::uint32_t key_offset = 0;
    std::uint32_t ids_offset = 0;
    std::uint16_t key_size = 0;
    std::uint16_t id_count = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::vector<Slot> slots;         // kCacheShardSlots, or empty before the first insert
    std::string keys;                // the pieces, back to back
    std::vector<std::int32_t> ids;   // their ids, back to back
    std::size_t words = 0;
  };
  std::array<Shard, kCacheShards> shards;

  static Shard& shard_of(WordCache& cache, std::uint64_t hash) {
    return cache.shards[(hash >> 1) & (kCacheShards - 1)];
  }
  static std::size_t home(std::uint64_t hash) {
    return static_cast<std::size_t>(hash >> (kCacheShardBits + 1)) & (kCacheShardSlots - 1);
  }
  // Appends the cached ids of `piece` to `out`; false when it is not cached. Lock held.
  static bool find(const Shard& shard, std::uint64_t hash, std::string_view piece,
                   std::vector<std::int32_t>& out) {
    if (shard.slots.empty()) return false;
    for (std::size_t i = home(hash);; i = (i + 1) & (kCacheShardSlots - 1)) {
      const Slot& slot = shard.slots[i];
      if (slot.hash == 0) return false;
      if (slot.hash == hash && slot.key_size == piece.size() &&
          std::memcmp(shard.keys.data() + slot.key_offset, piece.data(), piece.size()) == 0) {
        const std::int32_t* first = shard.ids.data() + slot.ids_offset;
        out.insert(out.end(), first, first + slot.id_count);
        return true;
      }
    }
  }
  // Caches `ids` for `piece`. Lock held.
  static void insert(Shard& shard, std::uint64_t hash, std::string_view piece,
                     const std::int32_t* ids, std::size_t count) {
    if (shard.slots.empty() || shard.words >= kCacheShardEntries) {
      shard.slots.assign(kCacheShardSlots, Slot{});
      shard.keys.clear();
      shard.ids.clear();
      shard.words = 0;
    }
    std::size_t i = home(hash);
    for (;; i = (i + 1) & (kCacheShardSlots - 1)) {
      const Slot& slot = shard.slots[i];
      if (slot.hash == 0) break;
      if (slot.hash == hash && slot.key_size == piece.size() &&
          std::memcmp(shard.keys.data() + slot.key_offset, piece.data(), piece.size()) == 0)
        return;  // another thread got there first
    }
    Slot& slot = shard.slots[i];
    slot.hash = hash;
    slot.key_offset = static_cast<std::uint32_t>(shard.keys.size());
    slot.ids_offset = static_cast<std::uint32_t>(shard.ids.size());
    slot.key_size = static_cast<std::uint16_t>(piece.size());
    slot.id_count = static_cast<std::uint16_t>(count);
    shard.keys.append(piece.data(), piece.size());
    shard.ids.insert(shard.ids.end(), ids, ids + count);
    ++shard.words;
  }
};

BpeModel::BpeModel(BpeDefinition definition)
    : tokens_(std::move(definition.tokens)),
      special_(std::move(definition.special)),
      merges_(std::move(definition.merges)),
      ignore_merges_(definition.ignore_merges),
      cache_(std::make_unique<WordCache>()) {
  const std::size_t n = tokens_.size();
  if (special_.size() != n)
    throw Error("the special-token flags (" + std::to_string(special_.size()) +
                ") do not match the tokens (" + std::to_string(n) + ")");
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw Error("too many tokens: " + std::to_string(n));

  bytes_.resize(n);
  by_spelling_.reserve(n);
  for (std::size_t id = 0; id < n; ++id) {
    const std::string& token = tokens_[id];
    if (token.empty()) throw Error("token " + std::to_string(id) + " is empty");
    const auto [it, inserted] = by_spelling_.emplace(token, static_cast<std::int32_t>(id));
    if (!inserted)
      throw Error(in_quotes(token) + " is the spelling of both id " + std::to_string(it->second) +
                  " and id " + std::to_string(id));
    if (special_[id]) {
      bytes_[id] = token;
      special_ids_.push_back(static_cast<std::int32_t>(id));
    } else if (!symbols_to_bytes(token, bytes_[id])) {
      throw Error("token " + in_quotes(token) + " (id " + std::to_string(id) +
                  ") is not spelled in the byte-level alphabet");
    }
  }
  by_bytes_.reserve(n);
  for (std::size_t id = 0; id < n; ++id)
    if (!special_[id]) by_bytes_.emplace(bytes_[id], static_cast<std::int32_t>(id));
  for (int b = 0; b < 256; ++b) {
    const auto found = by_bytes_.find(std::string(1, static_cast<char>(b)));
    if (found == by_bytes_.end())
      throw Error("no token for byte " + hex_byte(b) + " (byte-level symbol " +
                  in_quotes(byte_to_symbol(static_cast<std::uint8_t>(b))) + ")");
    byte_ids_[b] = found->second;
  }

  pairs_ = std::make_unique<MergeTable>(merges_.size());
  for (std::size_t k = 0; k < merges_.size(); ++k) {
    const BpeMerge& m = merges_[k];
    const std::string where = "merge " + std::to_string(k);
    for (const std::int32_t id : {m.left, m.right, m.merged}) {
      if (id < 0 || static_cast<std::size_t>(id) >= n)
        throw Error(where + " refers to id " + std::to_string(id) + ", outside the vocabulary of " +
                    std::to_string(n) + " tokens");
      if (special_[static_cast<std::size_t>(id)])
        throw Error(where + " involves special token " + in_quotes(tokens_[static_cast<std::size_t>(id)]) +
                    " (id " + std::to_string(id) + ")");
    }
    if (bytes_[static_cast<std::size_t>(m.left)] + bytes_[static_cast<std::size_t>(m.right)] !=
        bytes_[static_cast<std::size_t>(m.merged)])
      throw Error(where + ": " + in_quotes(tokens_[static_cast<std::size_t>(m.left)]) + " + " +
                  in_quotes(tokens_[static_cast<std::size_t>(m.right)]) + " does not make " +
                  in_quotes(tokens_[static_cast<std::size_t>(m.merged)]));
    if (!pairs_->insert(pair_key(m.left, m.right), static_cast<std::uint32_t>(k), m.merged)) {
      const std::uint32_t first = pairs_->find(pair_key(m.left, m.right))->rank;
      throw Error(where + " repeats merge " + std::to_string(first) + " (" +
                  in_quotes(tokens_[static_cast<std::size_t>(m.left)]) + " " +
                  in_quotes(tokens_[static_cast<std::size_t>(m.right)]) + ")");
    }
  }
}

BpeModel::~BpeModel() = default;

std::optional<std::int32_t> BpeModel::find_spelling(std::string_view spelling) const {
  const auto found = by_spelling_.find(std::string(spelling));
  if (found == by_spelling_.end()) return std::nullopt;
  return found->second;
}

std::optional<std::int32_t> BpeModel::find_bytes(std::string_view bytes) const {
  const auto found = by_bytes_.find(std::string(bytes));
  if (found == by_bytes_.end()) return std::nullopt;
  return found->second;
}

BpeModel::PairInfo BpeModel::pair(std::int32_t left, std::int32_t right) const noexcept {
  const MergeTable::Slot* slot = pairs_->find(pair_key(left, right));
  return slot ? PairInfo{slot->rank, slot->merged} : PairInfo{kNoRank, -1};
}

void BpeModel::encode_piece(std::string_view piece, std::vector<std::int32_t>& ids) const {
  if (piece.size() == 1) {
    ids.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (const auto whole = find_bytes(piece)) {
      ids.push_back(*whole);
      return;
    }
  }
  if (piece.size() > kCacheMaxBytes) {
    merge_piece(piece, ids);
    return;
  }
  const std::uint64_t hash = hash_piece(piece);
  WordCache::Shard& shard = WordCache::shard_of(*cache_, hash);
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (WordCache::find(shard, hash, piece, ids)) return;
  }
  const std::size_t first = ids.size();
  merge_piece(piece, ids);
  std::lock_guard<std::mutex> lock(shard.mutex);
  WordCache::insert(shard, hash, piece, ids.data() + first, ids.size() - first);
}

void BpeModel::merge_piece(std::string_view piece, std::vector<std::int32_t>& ids,
                           BpeMergeMethod method) const {
  if (piece.size() <= 1) {
    if (!piece.empty()) ids.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  const bool scan = method == BpeMergeMethod::scan ||
                    (method == BpeMergeMethod::automatic && piece.size() <= kScanMaxBytes);
  if (scan)
    merge_scan(piece, ids);
  else
    merge_heap(piece, ids);
}

void BpeModel::merge_scan(std::string_view piece, std::vector<std::int32_t>& ids) const {
  // symbol[i] is a token; rank[i] and merged[i] describe the pair (symbol[i], symbol[i + 1]).
  std::size_t n = piece.size();
  std::array<std::int32_t, kScanMaxBytes> small_symbol;
  std::array<PairInfo, kScanMaxBytes> small_pair;
  std::vector<std::int32_t> big_symbol;
  std::vector<PairInfo> big_pair;
  std::int32_t* symbol = small_symbol.data();
  PairInfo* pairs = small_pair.data();
  if (n > kScanMaxBytes) {  // only when a test asks for the scan on a long piece
    big_symbol.resize(n);
    big_pair.resize(n);
    symbol = big_symbol.data();
    pairs = big_pair.data();
  }
  for (std::size_t i = 0; i < n; ++i) symbol[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  for (std::size_t i = 0; i + 1 < n; ++i) pairs[i] = pair(symbol[i], symbol[i + 1]);
  while (n > 1) {
    std::size_t best = 0;
    std::uint32_t best_rank = pairs[0].rank;
    for (std::size_t i = 1; i + 1 < n; ++i)
      if (pairs[i].rank < best_rank) {
        best_rank = pairs[i].rank;
        best = i;
      }
    if (best_rank == kNoRank) break;
    symbol[best] = pairs[best].merged;
    // Drop symbol[best + 1] and the pair that started with it.
    std::memmove(symbol + best + 1, symbol + best + 2, (n - best - 2) * sizeof(*symbol));
    if (n - best > 2) std::memmove(pairs + best + 1, pairs + best + 2, (n - best - 3) * sizeof(*pairs));
    --n;
    if (best + 1 < n) pairs[best] = pair(symbol[best], symbol[best + 1]);
    if (best > 0) pairs[best - 1] = pair(symbol[best - 1], symbol[best]);
  }
  ids.insert(ids.end(), symbol, symbol + n);
}

void BpeModel::merge_heap(std::string_view piece, std::vector<std::int32_t>& ids) const {
  // A doubly linked list of symbols (a merged pair lives on in its left node) and a min-heap
  // of candidate merges by (rank, position of the left node). Entries are checked when popped:
  // one whose nodes no longer hold the pair it was made for is stale and skipped.
  struct Node {
    std::int32_t token;  // -1 once merged into its left neighbour
    std::int32_t prev;
    std::int32_t next;
  };
  struct Candidate {
    std::uint32_t rank;
    std::int32_t position;
    std::int32_t left;
    std::int32_t right;
    std::int32_t merged;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  const auto n = static_cast<std::int32_t>(piece.size());
  std::vector<Node> nodes(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i)
    nodes[static_cast<std::size_t>(i)] = {byte_ids_[static_cast<unsigned char>(piece[static_cast<std::size_t>(i)])],
                                          i - 1, i + 1 < n ? i + 1 : -1};
  std::vector<Candidate> storage;
  storage.reserve(static_cast<std::size_t>(n));
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap(
      std::greater<Candidate>{}, std::move(storage));
  const auto consider = [&](std::int32_t position) {
    if (position < 0) return;
    const Node& left = nodes[static_cast<std::size_t>(position)];
    if (left.next < 0) return;
    const std::int32_t right = nodes[static_cast<std::size_t>(left.next)].token;
    const PairInfo info = pair(left.token, right);
    if (info.rank != kNoRank) heap.push({info.rank, position, left.token, right, info.merged});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& left = nodes[static_cast<std::size_t>(c.position)];
    if (left.token != c.left || left.next < 0) continue;
    Node& right = nodes[static_cast<std::size_t>(left.next)];
    if (right.token != c.right) continue;
    left.token = c.merged;
    right.token = -1;
    left.next = right.next;
    if (right.next >= 0) nodes[static_cast<std::size_t>(right.next)].prev = c.position;
    consider(left.prev);
    consider(c.position);
  }
  for (std::int32_t i = 0; i >= 0; i = nodes[static_cast<std::size_t>(i)].next)
    ids.push_back(nodes[static_cast<std::size_t>(i)].token);
}

}  // namespace anvil::builtin
