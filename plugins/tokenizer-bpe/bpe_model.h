#pragma once
// The byte-level BPE model: a vocabulary (token spelling <-> id), merge ranks, the encoding of
// one pre-tokenized piece and the decoding of ids back to bytes. Knows nothing about files,
// pre-tokenizers or special-token matching in text (bpe_files.h, bpe_tokenizer.h).
//
// Tokens are spelled as in Hugging Face and GPT-2 vocabulary files: ordinary tokens in GPT-2's
// byte-level alphabet (byte_level.h; "Ġthe" stands for the bytes " the"), special tokens
// verbatim. Ids are dense, 0..size()-1, in any order (GPT-2 puts its one special token last,
// Anvil's trainer puts the specials first).
//
// Encoding a piece: its bytes become byte tokens, then the adjacent pair with the lowest merge
// rank is merged, the leftmost one on a tie, until no adjacent pair has a rank. That is GPT-2's
// encoder.py (on vocabularies where a merged token never has a lower rank than the merges that
// made its parts, which holds for every trained one), tiktoken's byte_pair_merge and Hugging
// Face's BPE model. With ignore_merges (a Hugging Face option), a piece that is itself a token
// is that token, merges or not.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace anvil::builtin {

/// One merge: the tokens `left` and `right`, adjacent, become `merged`.
struct BpeMerge {
  std::int32_t left = 0;
  std::int32_t right = 0;
  std::int32_t merged = 0;
};

/// Everything a BpeModel is made from.
struct BpeDefinition {
  /// Spelling of each id: byte-level symbols for ordinary tokens, the text for special tokens.
  std::vector<std::string> tokens;
  /// Whether each id is a special token (same size as `tokens`).
  std::vector<bool> special;
  /// The merges, in rank order (rank 0 first).
  std::vector<BpeMerge> merges;
  /// Hugging Face's ignore_merges: a piece that is a token is encoded as that token directly.
  bool ignore_merges = false;
};

/// How merge_piece() finds the next pair to merge (both give the same ids; tests compare them).
enum class BpeMergeMethod {
  automatic,  ///< scan for short pieces, heap for long ones
  scan,       ///< O(n * merges): rescan the pair ranks after each merge
  heap,       ///< O(n log n): a priority queue of (rank, position) over a linked list
};

/// An immutable byte-level BPE vocabulary with a shared word cache. encode_piece() and decode
/// are thread-safe.
class BpeModel {
 public:
  /// Checks `definition` and builds the model. Throws anvil::Error whose message names the
  /// problem without a prefix (callers add the file or the caller): a byte without a token,
  /// an ordinary token not spelled in the byte-level alphabet, a spelling used twice, a merge
  /// with an id outside the vocabulary, of or into a special token, whose result is not the
  /// concatenation of its parts, or that repeats an earlier pair.
  explicit BpeModel(BpeDefinition definition);
  ~BpeModel();
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  /// Number of ids.
  std::int32_t size() const noexcept { return static_cast<std::int32_t>(tokens_.size()); }
  /// The spelling of `id` (as in vocab files). `id` must be in range.
  const std::string& spelling(std::int32_t id) const { return tokens_[static_cast<std::size_t>(id)]; }
  /// The bytes `id` decodes to. `id` must be in range.
  const std::string& bytes(std::int32_t id) const { return bytes_[static_cast<std::size_t>(id)]; }
  /// Whether `id` is a special token. `id` must be in range.
  bool is_special(std::int32_t id) const { return special_[static_cast<std::size_t>(id)]; }
  /// The ids of the special tokens, ascending.
  const std::vector<std::int32_t>& special_ids() const noexcept { return special_ids_; }
  /// The merges in rank order.
  const std::vector<BpeMerge>& merges() const noexcept { return merges_; }
  /// Hugging Face's ignore_merges flag.
  bool ignore_merges() const noexcept { return ignore_merges_; }
  /// The id of the single-byte token of `b`.
  std::int32_t byte_id(unsigned char b) const noexcept { return byte_ids_[b]; }

  /// The token spelled `spelling` (special or ordinary), if any.
  std::optional<std::int32_t> find_spelling(std::string_view spelling) const;
  /// The ordinary token that stands for exactly `bytes`, if any.
  std::optional<std::int32_t> find_bytes(std::string_view bytes) const;

  /// Appends the ids of one pre-tokenized piece (any bytes), through the word cache.
  void encode_piece(std::string_view piece, std::vector<std::int32_t>& ids) const;
  /// Appends the ids of `piece` computed afresh (no cache, no ignore_merges shortcut).
  void merge_piece(std::string_view piece, std::vector<std::int32_t>& ids,
                   BpeMergeMethod method = BpeMergeMethod::automatic) const;

 private:
  struct MergeTable;
  struct WordCache;

  /// Rank and result of merging `left` and `right`; rank is kNoRank when they do not merge.
  struct PairInfo {
    std::uint32_t rank;
    std::int32_t merged;
  };
  PairInfo pair(std::int32_t left, std::int32_t right) const noexcept;
  void merge_scan(std::string_view piece, std::vector<std::int32_t>& ids) const;
  void merge_heap(std::string_view piece, std::vector<std::int32_t>& ids) const;

  std::vector<std::string> tokens_;
  std::vector<std::string> bytes_;
  std::vector<bool> special_;
  std::vector<std::int32_t> special_ids_;
  std::vector<BpeMerge> merges_;
  bool ignore_merges_ = false;
  std::int32_t byte_ids_[256] = {};
  std::unordered_map<std::string, std::int32_t> by_spelling_;
  std::unordered_map<std::string, std::int32_t> by_bytes_;  // ordinary tokens only
  std::unique_ptr<MergeTable> pairs_;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace anvil::builtin
