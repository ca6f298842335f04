#include "run/prepare_run.h"

#include "run/data_setup.h"
#include "metrics/table.h"
#include "run/tokenizer_setup.h"
#include "data/dataset.h"
#include "log/logging.h"
#include "metrics/progress_bar.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <functional>
#include <optional>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

// True when `dir` holds an intact dataset made from the same inputs, options and tokenizer.
bool up_to_date(const DataPlan& plan) {
  if (!fs::exists(plan.dataset_dir / kDatasetInfoFile)) return false;
  try {
    const Dataset dataset = Dataset::open(plan.dataset_dir, {/*verify_checksums=*/false});
    return dataset.info().config_fingerprint == plan.prepare.config_fingerprint;
  } catch (const DataError& e) {
    spdlog::warn("existing dataset cannot be used and will be prepared again: {}", e.what());
    return false;
  }
}

// Never replace a folder that is not a dataset: it may hold anything.
void check_replaceable(const fs::path& dir) {
  if (!fs::exists(dir) || fs::exists(dir / kDatasetInfoFile)) return;
  if (!fs::is_directory(dir) || !fs::is_empty(dir))
    throw DataError("'" + dir.string() + "' exists and is not a dataset; refusing to overwrite it",
                    "choose another [data] dataset (or --out) folder, or remove it");
}

// One progress bar per pass, replaced when the pass changes.
class PassProgress {
 public:
  void operator()(const std::string& label, std::uint64_t done, std::uint64_t total) {
    if (!bar_ || label != label_) {
      if (bar_) bar_->finish();
      bar_.emplace(label, total);
      label_ = label;
    }
    bar_->update(done);
  }
  void finish() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::optional<ProgressBar> bar_;
  std::string label_;
};

std::string seconds_text(double seconds) { return fmt::format("{:.2f} s", seconds); }

void print_report(const PrepareReport& report, const fs::path& dir, std::ostream& out) {
  const double mb_per_s = static_cast<double>(report.read.bytes_in) / 1e6 /
                          std::max(report.total_seconds, 1e-9);
  out << "prepared " << dir.string() << " in " << seconds_text(report.total_seconds) << " ("
      << fmt::format("{:.1f}", mb_per_s) << " MB/s of input)\n\n";
  Table table({"STAGE", "DOCS IN", "DOCS OUT", "BYTES IN", "BYTES OUT", "TIME"});
  for (const StageStats* stage : {&report.read, &report.clean, &report.dedup, &report.tokenize})
    table.add({stage->name, format_count(stage->documents_in), format_count(stage->documents_out),
               format_bytes(static_cast<double>(stage->bytes_in)),
               format_bytes(static_cast<double>(stage->bytes_out)), seconds_text(stage->seconds)});
  table.print(out);
  // Cleaning rejections only when they happened; the duplicate counts always.
  out << "\nremoved:";
  const char* separator = " ";
  for (const auto& [reason, count] : removal_counts(report)) {
    const bool duplicates = reason == "exact duplicates" || reason == "near duplicates";
    if (count == 0 && !duplicates) continue;
    out << separator << format_count(count) << " " << reason;
    separator = ", ";
  }
  out << "\n";
  const BadRecordCounts& skipped = report.bad_records;
  if (skipped.bad() > 0 || skipped.empty_texts > 0) {
    out << "skipped JSON lines:";
    separator = " ";
    for (std::size_t kind = 0; kind < kBadRecordKinds; ++kind) {
      if (skipped.by_kind[kind] == 0) continue;
      out << separator << format_count(skipped.by_kind[kind]) << " "
          << to_string(static_cast<BadRecord>(kind));
      separator = ", ";
    }
    if (skipped.empty_texts > 0)
      out << separator << format_count(skipped.empty_texts) << " empty text"
          << (skipped.empty_texts == 1 ? "" : "s");
    out << "\n";
    for (const std::string& example : skipped.examples) out << "  " << example << "\n";
    if (skipped.bad() > skipped.examples.size())
      out << "  ... and " << format_count(skipped.bad() - skipped.examples.size()) << " more\n";
  }
  out << "deduplication: " << format_count(report.near_candidates)
      << " candidate pairs compared, " << seconds_text(report.dedup_resolve_seconds)
      << " resolving\n";
  out << "repaired: " << format_count(report.clean_counts.repaired_utf8)
      << " documents with invalid UTF-8, " << format_count(report.clean_counts.control_removed)
      << " control characters removed\n";
  if (report.tokenizer_training_seconds > 0)
    out << "tokenizer trained in " << seconds_text(report.tokenizer_training_seconds) << "\n";
  for (const auto& [name, split] : report.info.splits)
    out << name << ": " << format_count(split.documents) << " documents, "
        << format_count(split.tokens) << " tokens in " << split.shards.size()
        << (split.shards.size() == 1 ? " shard\n" : " shards\n");
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // ru_maxrss is in KiB on Linux
  out << "peak memory: " << format_bytes(static_cast<double>(usage.ru_maxrss) * 1024) << "\n";
  const TokenizerIdentity& tokenizer = report.info.tokenizer;
  out << "tokenizer: " << tokenizer.plugin << " (vocabulary " << format_count(static_cast<std::uint64_t>(tokenizer.vocab_size))
      << ", " << to_string(report.info.token_type) << " tokens, end of document "
      << quote_string(tokenizer.eos_token) << " = " << tokenizer.eos_id << ")\n";
}

}  // namespace

fs::path prepare_data(const Manifest& manifest, const PluginHost& host,
                      const toml::table* manifest_tokenizer, const std::string& plugin_override,
                      bool force, std::ostream& out) {
  DataPlan plan = plan_data(manifest);
  toml::table section = data_tokenizer_section(plan, manifest_tokenizer, plugin_override);
  plan.prepare.eos_token = end_of_document_token(plan.prepare.eos_token, section);
  set_config_fingerprint(plan, section);

  if (!force && up_to_date(plan)) {
    out << "dataset " << plan.dataset_dir.string()
              << " is up to date (same inputs, options and tokenizer); --force prepares it again\n";
    return plan.dataset_dir;
  }
  check_replaceable(plan.dataset_dir);

  const std::string plugin = section["plugin"].value_or(std::string());
  auto logger = make_logger("tokenizer/" + plugin);
  const std::shared_ptr<Tokenizer> tokenizer =
      make_tokenizer(host, section, manifest.path().string(), *logger);
  TokenizerHooks hooks;
  hooks.tokenizer = tokenizer.get();
  hooks.plugin = plugin;
  hooks.train = plan.tokenizer_dir.empty();
  if (!hooks.train) tokenizer->load(plan.tokenizer_dir);
  hooks.save = [&](const fs::path& dir) {
    // Checked on the trained tokenizer, before the dataset is put in place.
    check_named_tokens(*tokenizer, section, manifest.path().string());
    tokenizer->save(dir);
    write_tokenizer_sidecar(dir, section);
  };
  PassProgress progress;
  const PrepareReport report = prepare_dataset(plan.prepare, hooks, std::ref(progress));
  progress.finish();
  print_report(report, plan.dataset_dir, out);
  return plan.dataset_dir;
}

}  // namespace anvil::core
