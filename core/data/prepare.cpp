#include "data/prepare.h"

#include "data/scratch_file.h"

#include <anvil/errors.h>
#include <anvil/parallel.h>
#include <anvil/toml_text.h>
#include <anvil/version.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <system_error>
#include <utility>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Validation membership by content hash, not position: the same document lands in the same
// split whatever the input order, worker count or seed.
bool in_valid_split(const DocumentHash& hash, double fraction) {
  return static_cast<double>(hash.high >> 11) * 0x1.0p-53 < fraction;
}

// A document of the current batch and what the workers found out about it.
struct Pending {
  std::string text;
  bool invalid_utf8 = false;  // the reader replaced invalid UTF-8 (DocumentOrigin)
  CleanResult cleaned;
  DocumentHash hash;
  std::vector<std::uint32_t> signature;
};

std::uint64_t input_bytes(const PrepareOptions& options) {
  std::uint64_t bytes = 0;
  for (const auto* list : {&options.train_inputs, &options.valid_inputs})
    for (const fs::path& file : *list) bytes += fs::file_size(file);
  return bytes;
}

// Pass 1: stream every input through the cleaner into the scratch file, hashing each cleaned
// document for the duplicate finder, which decides at the end.
class CleanAndDedup {
 public:
  CleanAndDedup(const PrepareOptions& options, const fs::path& work_dir, PrepareReport& report,
                const PrepareProgress& progress)
      : options_(options),
        report_(report),
        progress_(progress),
        cleaner_(options.clean),
        scratch_(work_dir / "documents.scratch"),
        total_bytes_(input_bytes(options)),
        finder_(options.dedup, work_dir, total_bytes_) {
    if (options.dedup.near)
      hasher_.emplace(options.dedup.shingle, options.dedup.permutations, options.dedup.seed);
  }

  // Reads everything, then decides which documents are duplicates.
  CleanedCorpus run() {
    read_group(options_.train_inputs, /*valid_group=*/false);
    read_group(options_.valid_inputs, /*valid_group=*/true);
    scratch_.finish();
    const auto start = Clock::now();
    DuplicateFinder::Result result = finder_.resolve();
    report_.dedup_resolve_seconds = seconds_since(start);
    report_.dedup.seconds += report_.dedup_resolve_seconds;
    report_.exact_duplicates = result.exact;
    report_.near_duplicates = result.near;
    report_.near_candidates = result.candidates_checked;
    CleanedCorpus corpus{scratch_.path(), std::move(result.verdicts), std::move(valid_)};
    for (std::size_t i = 0; i < corpus.verdicts.size(); ++i) {
      if (corpus.verdicts[i] != DuplicateFinder::Verdict::keep) continue;
      (corpus.valid[i] ? report_.valid_documents : report_.train_documents) += 1;
    }
    report_.dedup.documents_out = report_.train_documents + report_.valid_documents;
    return corpus;
  }

 private:
  void read_group(const std::vector<fs::path>& files, bool valid_group) {
    if (files.empty()) return;
    DocumentReader reader(files, options_.reader);
    std::vector<Pending> batch;
    while (true) {
      const auto start = Clock::now();
      const bool more = fill_batch(reader, batch);
      report_.read.seconds += seconds_since(start);
      if (batch.empty()) break;
      process(batch, valid_group);
      if (progress_) progress_("clean + dedup", done_bytes_ + reader.file_bytes_read(), total_bytes_);
      if (!more) break;
    }
    const BadRecordCounts& skipped = reader.bad_records();
    report_.read.bytes_in += reader.file_bytes_read();
    report_.read.bytes_out += reader.text_bytes_read();
    report_.read.documents_in += reader.documents() + skipped.bad() + skipped.empty_texts;
    report_.read.documents_out += reader.documents();
    report_.bad_records.add(skipped);
    done_bytes_ += reader.total_file_bytes();
  }

  // Reads documents until the batch holds batch_bytes of text; false at the end of the input.
  bool fill_batch(DocumentReader& reader, std::vector<Pending>& batch) {
    batch.clear();
    std::size_t bytes = 0;
    while (bytes < options_.batch_bytes) {
      Pending document;
      DocumentOrigin origin;
      if (!reader.next(document.text, &origin)) return false;
      document.invalid_utf8 = origin.invalid_utf8;
      bytes += document.text.size();
      batch.push_back(std::move(document));
    }
    return true;
  }

  void process(std::vector<Pending>& batch, bool valid_group) {
    const int workers = options_.workers;
    auto start = Clock::now();
    std::uint64_t bytes_in = 0;
    for (const Pending& document : batch) bytes_in += document.text.size();
    parallel_for(batch.size(), workers, [&](std::size_t i) {
      batch[i].cleaned = cleaner_.clean(batch[i].text, batch[i].invalid_utf8);
    });
    report_.clean.seconds += seconds_since(start);
    report_.clean.documents_in += batch.size();
    report_.clean.bytes_in += bytes_in;

    start = Clock::now();
    parallel_for(batch.size(), workers, [&](std::size_t i) {
      Pending& document = batch[i];
      if (document.cleaned.rejection != Rejection::kept) return;
      document.hash = hash_document(document.text);
      if (hasher_) hasher_->signature(document.text, document.signature);
    });
    for (Pending& document : batch) record(document, valid_group);
    report_.dedup.seconds += seconds_since(start);
  }

  // On one thread, in document order: document ids, and so every later decision, do not
  // depend on the number of workers.
  void record(const Pending& document, bool valid_group) {
    report_.clean_counts.add(document.cleaned);
    if (document.cleaned.rejection != Rejection::kept) return;
    report_.clean.documents_out += 1;
    report_.clean.bytes_out += document.text.size();
    report_.dedup.documents_in += 1;
    report_.dedup.bytes_in += document.text.size();
    finder_.add(document.hash, document.signature);
    const bool valid = valid_group || (options_.valid_inputs.empty() &&
                                       in_valid_split(document.hash, options_.valid_fraction));
    valid_.push_back(valid);
    scratch_.append(valid ? ScratchSplit::valid : ScratchSplit::train, document.text);
  }

  const PrepareOptions& options_;
  PrepareReport& report_;
  const PrepareProgress& progress_;
  Cleaner cleaner_;
  std::optional<MinHasher> hasher_;
  ScratchWriter scratch_;
  std::uint64_t total_bytes_;
  DuplicateFinder finder_;
  std::vector<bool> valid_;  // per cleaned document
  std::uint64_t done_bytes_ = 0;
};

// Why nothing is left, from the counts: the message names every reason that removed documents.
std::string removal_breakdown(const PrepareReport& report) {
  std::string text;
  for (const auto& [reason, count] : removal_counts(report))
    if (count > 0) text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + reason;
  return text.empty() ? "nothing removed" : text;
}

void check_survivors(const PrepareOptions& options, const PrepareReport& report) {
  const std::string inputs = std::to_string(report.read.documents_out) + " documents read";
  if (report.dedup.documents_out == 0)
    throw DataError("the corpus is empty after cleaning and deduplication (" + inputs + "; " +
                        removal_breakdown(report) + ")",
                    "check the inputs and relax [data.clean] filters such as min_chars");
  if (report.train_documents == 0)
    throw DataError("the train split is empty: every one of the " +
                        std::to_string(report.dedup.documents_out) +
                        " remaining documents went to validation",
                    "lower [data] valid_fraction");
  const bool wants_valid = !options.valid_inputs.empty() || options.valid_fraction > 0;
  if (wants_valid && report.valid_documents == 0)
    throw DataError(options.valid_inputs.empty()
                        ? "the valid split is empty: valid_fraction " +
                              fmt::format("{}", options.valid_fraction) + " of " +
                              std::to_string(report.train_documents) + " documents chose none"
                        : "the valid split is empty: the [data] valid files hold no document "
                          "that survives cleaning and deduplication",
                    "raise [data] valid_fraction, list [data] valid files, or set "
                    "valid_fraction = 0 for no validation split");
}

std::int32_t eos_id(const Tokenizer& tokenizer, const std::string& eos_token) {
  const auto id = tokenizer.token_to_id(eos_token);
  if (!id)
    throw DataError("the tokenizer has no end-of-document token \"" + eos_token + "\"",
                    "add it to [tokenizer] special_tokens, or name another token with "
                    "[tokenizer] eos_token (or [data] eos_token)");
  return *id;
}

// A document quoted for an error message: its first characters, on one line.
std::string excerpt(const std::string& text) {
  constexpr std::size_t kMax = 60;
  std::string shown = text.substr(0, kMax);
  for (char& c : shown)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return quote_string(shown + (text.size() > kMax ? "..." : ""));
}

// Documents are encoded with special-token text as ordinary text: a corpus that quotes
// "<|endoftext|>" or "[CLS]" must neither be split there nor carry control tokens into training.
// The end-of-document id is appended by the caller. A tokenizer built against an SDK without
// OrdinaryEncoder is used through encode() and refused when that yields a special id.
std::vector<std::vector<std::int32_t>> encode_documents(const Tokenizer& tokenizer,
                                                        const std::vector<std::string>& texts,
                                                        int workers, const std::string& plugin) {
  if (const auto* ordinary = dynamic_cast<const OrdinaryEncoder*>(&tokenizer))
    return ordinary->encode_ordinary_batch(texts, workers);
  std::vector<std::vector<std::int32_t>> ids = tokenizer.encode_batch(texts, workers);
  std::vector<std::pair<std::int32_t, std::string>> specials;
  for (const std::string& special : tokenizer.special_tokens())
    if (const auto id = tokenizer.token_to_id(special)) specials.emplace_back(*id, special);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (const std::int32_t id : ids[i])
      for (const auto& [special_id, spelling] : specials)
        if (id == special_id)
          throw DataError("tokenizer '" + plugin + "' encodes the text " + quote_string(spelling) +
                              " in the document " + excerpt(texts[i]) +
                              " as its special token " + std::to_string(id) +
                              ", and it has no ordinary encoding (anvil::OrdinaryEncoder, SDK 0.5) to "
                              "keep such text as text",
                          "rebuild the tokenizer plugin against Anvil SDK 0.5 or later and implement "
                          "OrdinaryEncoder, or remove special-token text from the corpus");
  return ids;
}

// Pass 2: tokenize the scratch file's documents in parallel batches and write the shards in
// document order.
void tokenize_to_shards(const PrepareOptions& options, const CleanedCorpus& corpus,
                        const fs::path& work_dir, const Tokenizer& tokenizer,
                        const std::string& plugin, std::int32_t eos, TokenType type, PrepareReport& report, const PrepareProgress& progress) {
  const auto start = Clock::now();
  ScratchReader reader(corpus.scratch);
  std::uint64_t document = 0;
  std::uint64_t text_bytes[2] = {0, 0};  // train, valid
  ShardWriter train(work_dir, "train", type, options.shard_tokens);
  ShardWriter valid(work_dir, "valid", type, options.shard_tokens);
  std::vector<std::string> texts;
  std::vector<ScratchSplit> splits;
  while (true) {
    texts.clear();
    splits.clear();
    std::size_t bytes = 0;
    ScratchSplit split{};
    std::string text;
    while (bytes < options.batch_bytes && reader.next(split, text)) {
      if (corpus.verdicts[document++] != DuplicateFinder::Verdict::keep) continue;
      bytes += text.size();
      report.dedup.bytes_out += text.size();
      report.tokenize.bytes_in += text.size();
      texts.push_back(std::move(text));
      splits.push_back(split);
    }
    if (texts.empty()) break;
    std::vector<std::vector<std::int32_t>> ids = encode_documents(tokenizer, texts, options.workers, plugin);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ids[i].push_back(eos);
      const bool is_valid = splits[i] == ScratchSplit::valid;
      text_bytes[is_valid ? 1 : 0] += texts[i].size();
      (is_valid ? valid : train).add_document(ids[i].data(), ids[i].size());
      (is_valid ? report.valid_tokens : report.train_tokens) += ids[i].size();
      report.tokenize.bytes_out += ids[i].size() * token_bytes(type);
    }
    report.tokenize.documents_in += texts.size();
    report.tokenize.documents_out += texts.size();
    if (progress) progress("tokenize", reader.bytes_read(), reader.total_bytes());
  }
  report.info.splits["train"] = train.finish();
  report.info.splits["train"].text_bytes = text_bytes[0];
  SplitInfo valid_info = valid.finish();
  valid_info.text_bytes = text_bytes[1];
  if (valid_info.documents > 0) report.info.splits["valid"] = std::move(valid_info);
  report.tokenize.seconds = seconds_since(start);
}

nlohmann::json stage_json(const StageStats& stage) {
  return {{"documents_in", stage.documents_in}, {"documents_out", stage.documents_out},
          {"bytes_in", stage.bytes_in},         {"bytes_out", stage.bytes_out},
          {"seconds", stage.seconds}};
}

nlohmann::json skipped_records_json(const BadRecordCounts& counts) {
  nlohmann::json json = nlohmann::json::object();
  for (std::size_t kind = 0; kind < kBadRecordKinds; ++kind)
    json[std::string(to_string(static_cast<BadRecord>(kind)))] = counts.by_kind[kind];
  json["empty texts"] = counts.empty_texts;
  json["examples"] = counts.examples;
  return json;
}

std::string details_json(const PrepareOptions& options, const PrepareReport& report) {
  nlohmann::json removed = nlohmann::json::object();
  for (const auto& [reason, count] : removal_counts(report)) removed[reason] = count;
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto* list : {&options.train_inputs, &options.valid_inputs})
    for (const fs::path& file : *list)
      inputs.push_back({{"path", file.string()},
                        {"split", list == &options.train_inputs ? "train" : "valid"},
                        {"bytes", fs::file_size(file)}});
  nlohmann::json details = {
      {"stages",
       {{"read", stage_json(report.read)},
        {"clean", stage_json(report.clean)},
        {"dedup", stage_json(report.dedup)},
        {"tokenize", stage_json(report.tokenize)}}},
      {"removed", removed},
      {"skipped_records", skipped_records_json(report.bad_records)},
      {"repaired_utf8", report.clean_counts.repaired_utf8},
      {"control_characters_removed", report.clean_counts.control_removed},
      {"tokenizer_training_seconds", report.tokenizer_training_seconds},
      {"inputs", inputs},
      {"options", nlohmann::json::parse(options.options_json)},
  };
  return details.dump(2);
}

// Puts the finished folder in place of `out`: an old dataset there is removed only once the
// new one is complete.
void replace_folder(const fs::path& partial, const fs::path& out) {
  const fs::path old = fs::path(out.string() + ".old");
  std::error_code ignored;
  fs::remove_all(old, ignored);
  if (fs::exists(out)) fs::rename(out, old);
  fs::rename(partial, out);
  fs::remove_all(old, ignored);
}

}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> removal_counts(const PrepareReport& report) {
  std::vector<std::pair<std::string, std::uint64_t>> counts;
  for (std::size_t reason = 1; reason < kRejectionCount; ++reason)
    counts.emplace_back(to_string(static_cast<Rejection>(reason)),
                        report.clean_counts.by_reason[reason]);
  counts.emplace_back("exact duplicates", report.exact_duplicates);
  counts.emplace_back("near duplicates", report.near_duplicates);
  return counts;
}

PrepareReport prepare_dataset(const PrepareOptions& options, const TokenizerHooks& hooks,
                              const PrepareProgress& progress) {
  ANVIL_CHECK(hooks.tokenizer != nullptr, "prepare_dataset needs a tokenizer");
  const auto start = Clock::now();
  PrepareReport report;
  report.read.name = "read";
  report.clean.name = "clean";
  report.dedup.name = "dedup";
  report.tokenize.name = "tokenize";
  Tokenizer& tokenizer = *hooks.tokenizer;
  if (!hooks.train) eos_id(tokenizer, options.eos_token);  // fail before reading anything

  const fs::path partial = fs::path(options.out.string() + ".partial");
  try {
    fs::remove_all(partial);
    fs::create_directories(partial);
  } catch (const fs::filesystem_error& e) {
    throw DataError("cannot create the dataset folder " + partial.string() + ": " + e.code().message(),
                    "choose a dataset folder this user can create and write ([data] dataset, or "
                    "[run] out_dir)");
  }
  try {
    const CleanedCorpus corpus = CleanAndDedup(options, partial, report, progress).run();
    check_survivors(options, report);

    if (hooks.train) {
      const auto train_start = Clock::now();
      ScratchTrainSource training(corpus, progress);
      tokenizer.train(training);
      report.tokenizer_training_seconds = seconds_since(train_start);
    }
    const std::int32_t eos = eos_id(tokenizer, options.eos_token);
    const TokenType type = token_type_for(tokenizer.vocab_size());
    tokenize_to_shards(options, corpus, partial, tokenizer, hooks.plugin, eos, type, report, progress);
    fs::remove(corpus.scratch);

    const fs::path tokenizer_dir = partial / kDatasetTokenizerDir;
    fs::create_directories(tokenizer_dir);
    if (hooks.save) hooks.save(tokenizer_dir);
    DatasetInfo& info = report.info;
    info.created_by = std::string("anvil ") + ANVIL_VERSION_STRING;
    info.token_type = type;
    info.tokenizer = {hooks.plugin, tokenizer.vocab_size(), eos, options.eos_token,
                      fingerprint_folder(tokenizer_dir)};
    info.config_fingerprint = options.config_fingerprint;
    report.total_seconds = seconds_since(start);
    info.details_json = details_json(options, report);
    write_dataset_info(partial, info);
    replace_folder(partial, options.out);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw;
  }
  return report;
}

}  // namespace anvil::core
