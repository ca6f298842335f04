#pragma once
// `anvil data prepare`: raw text in, token shards out, in three stages.
//
//   pass 1  read → clean (stage 1) → hash for deduplication (stage 2) → cleaned documents in a
//           scratch file, each tagged train or valid; then the duplicate finder decides
//           (the tokenizer is trained here on the cleaned training documents, if it must be)
//   pass 2  scratch file → tokenize (stage 3) → shards, dataset.json
//
// Documents move in batches: workers clean, hash and tokenize a batch in parallel, one thread
// makes the order-dependent decisions (which copy of a duplicate is kept, the shard order), so
// the output is byte-identical for any number of workers. Memory is bounded by the batch size,
// one partition of the duplicate finder (its records wait on disk) and two bytes per document.

#include "data/cleaner.h"
#include "data/dedup.h"
#include "data/dataset_format.h"
#include "data/document_reader.h"

#include <anvil/tokenizer.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace anvil::core {

struct PrepareOptions {
  std::vector<std::filesystem::path> train_inputs;  ///< expanded files
  std::vector<std::filesystem::path> valid_inputs;  ///< expanded files; empty → valid_fraction
  ReaderOptions reader;
  CleanOptions clean;
  DedupOptions dedup;
  double valid_fraction = 0.01;     ///< of the training documents, chosen by content hash
  std::uint64_t shard_tokens = 100'000'000;
  std::string eos_token = "<|endoftext|>";
  int workers = 0;                  ///< 0 = all cores
  std::size_t batch_bytes = 8u << 20;  ///< text per parallel batch
  std::filesystem::path out;        ///< the dataset folder
  std::string config_fingerprint;   ///< recorded in dataset.json
  std::string options_json = "{}";  ///< recorded under details.options
};

/// One row of the summary: what a stage received and what it passed on.
struct StageStats {
  std::string name;
  std::uint64_t documents_in = 0, documents_out = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
};

struct PrepareReport {
  StageStats read, clean, dedup, tokenize;
  CleanCounts clean_counts;
  BadRecordCounts bad_records;  ///< JSON lines skipped (on_bad_record = skip), empty texts
  std::uint64_t exact_duplicates = 0, near_duplicates = 0;
  std::uint64_t near_candidates = 0;
  double dedup_resolve_seconds = 0;  ///< part of dedup.seconds spent sorting partitions
  std::uint64_t train_documents = 0, valid_documents = 0;
  std::uint64_t train_tokens = 0, valid_tokens = 0;
  double tokenizer_training_seconds = 0;
  double total_seconds = 0;
  DatasetInfo info;
};

/// Documents removed, per reason, in a fixed order: each cleaning rejection ("too short", ...),
/// then "exact duplicates" and "near duplicates"; zero counts included.
std::vector<std::pair<std::string, std::uint64_t>> removal_counts(const PrepareReport& report);

/// How prepare_dataset gets its tokenizer and writes it into the dataset.
struct TokenizerHooks {
  Tokenizer* tokenizer = nullptr;
  /// True when `tokenizer` must first be trained on the cleaned training documents.
  bool train = false;
  /// Writes the (trained) tokenizer into a folder, with whatever tells a reader which plugin
  /// and options read it.
  std::function<void(const std::filesystem::path&)> save;
  std::string plugin;  ///< recorded in dataset.json
};

/// Progress of a pass: (label, done, total) in bytes; called often from the coordinating
/// thread.
using PrepareProgress = std::function<void(const std::string& label, std::uint64_t done,
                                           std::uint64_t total)>;

/// Runs the pipeline into `options.out`. Everything is written into "<out>.partial" first and
/// renamed over `out` at the end, so a failure leaves no half dataset behind (and an existing
/// dataset in `out` untouched). Throws DataError when no document survives cleaning and
/// deduplication (naming the counts per reason), when a split ends up empty, or when the
/// tokenizer has no `eos_token`.
PrepareReport prepare_dataset(const PrepareOptions& options, const TokenizerHooks& tokenizer,
                              const PrepareProgress& progress = {});

}  // namespace anvil::core
