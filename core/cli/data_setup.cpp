#include "cli/data_setup.h"

#include "cli/tokenizer_setup.h"
#include "data/input_files.h"
#include "manifest/validate.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <algorithm>
#include <sstream>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

// The files a [data] train/valid array names, expanded. Every entry that matches no file is
// reported at its key, with where its relative path was resolved from.
std::vector<fs::path> inputs_of(const toml::table& data, const char* key) {
  std::vector<fs::path> entries;
  std::vector<const toml::node*> nodes;
  if (const toml::array* array = data.get_as<toml::array>(key))
    for (const toml::node& entry : *array) {
      entries.push_back(Manifest::resolve_path(entry));
      nodes.push_back(&entry);
    }
  if (entries.empty()) return entries;
  Diagnostics problems;
  std::vector<fs::path> files = expand_inputs(entries, [&](std::size_t i) {
    const std::string written = nodes[i]->value_or(std::string());
    problems.add(nodes[i]->source(), std::string("data.") + key,
                 "corpus input '" + written + "' matches no file" +
                     (written == entries[i].string() ? "" : " (looked for " + entries[i].string() + ")"),
                 fs::path(written).is_absolute() ? "check the path"
                                                 : Manifest::relative_path_hint(*nodes[i]));
  });
  problems.throw_if_any();
  return files;
}

PrepareOptions prepare_options_of(const toml::table& data) {
  PrepareOptions o;
  const toml::table& clean = *data["clean"].as_table();
  const toml::table& dedup = *data["dedup"].as_table();
  // Validation has checked every type and choice, so the parsers cannot fail here.
  o.reader.format = *parse_input_format(data["format"].value_or(std::string("auto")));
  o.reader.split = *parse_document_split(data["document"].value_or(std::string("paragraph")));
  o.reader.text_field = data["text_field"].value_or(std::string("text"));
  o.reader.on_bad_record = *parse_bad_record_policy(data["on_bad_record"].value_or(std::string("error")));
  o.valid_fraction = data["valid_fraction"].value_or(0.01);
  o.shard_tokens = static_cast<std::uint64_t>(data["shard_tokens"].value_or(std::int64_t{1}));
  o.eos_token = data["eos_token"].value_or(std::string());
  o.workers = static_cast<int>(data["workers"].value_or(std::int64_t{0}));
  o.clean.normalize = *parse_normalization(clean["normalize"].value_or(std::string("nfc")));
  o.clean.invalid_utf8 =
      *parse_invalid_utf8_policy(clean["invalid_utf8"].value_or(std::string("repair")));
  o.clean.strip_control = clean["strip_control"].value_or(true);
  o.clean.min_chars = static_cast<std::size_t>(clean["min_chars"].value_or(std::int64_t{0}));
  o.clean.max_chars = static_cast<std::size_t>(clean["max_chars"].value_or(std::int64_t{0}));
  o.clean.min_words = static_cast<std::size_t>(clean["min_words"].value_or(std::int64_t{0}));
  o.clean.max_symbol_ratio = clean["max_symbol_ratio"].value_or(1.0);
  o.clean.max_repeated_line_ratio = clean["max_repeated_line_ratio"].value_or(1.0);
  o.dedup.exact = dedup["exact"].value_or(true);
  o.dedup.near = dedup["near"].value_or(true);
  o.dedup.shingle = static_cast<int>(dedup["shingle"].value_or(std::int64_t{5}));
  o.dedup.permutations = static_cast<int>(dedup["permutations"].value_or(std::int64_t{128}));
  o.dedup.bands = static_cast<int>(dedup["bands"].value_or(std::int64_t{16}));
  o.dedup.threshold = dedup["threshold"].value_or(0.8);
  return o;
}

// The options that shape the dataset's contents, as JSON: [data] without the input lists
// (recorded as files), the output folder and the worker count (the output does not depend on
// it).
std::string options_json(const toml::table& data) {
  toml::table shaping;
  for (auto&& [key, value] : data) {
    const std::string name(key.str());
    if (name == "train" || name == "valid" || name == "dataset" || name == "workers") continue;
    shaping.insert(name, value);
  }
  std::ostringstream out;
  out << toml::json_formatter{shaping};
  return out.str();
}


// The keys on which two [tokenizer] sections disagree, as "key: a vs b" lines; the thread
// count does not change the tokens, and the host's keys (eos_token, ...) are checked on their
// own (dataset.json records the end-of-document token).
std::string tokenizer_differences(const toml::table& dataset, const toml::table& run) {
  std::string lines;
  std::vector<std::string> keys;
  for (const auto* table : {&dataset, &run})
    for (auto&& [key, value] : *table)
      if (key.str() != "threads" && !host_schema(ComponentKind::tokenizer)->find(key.str()) &&
          std::find(keys.begin(), keys.end(), key.str()) == keys.end())
        keys.emplace_back(key.str());
  for (const std::string& key : keys) {
    const toml::node* a = dataset.get(key);
    const toml::node* b = run.get(key);
    const std::string left = a ? format_toml_value(*a) : "(not set)";
    const std::string right = b ? format_toml_value(*b) : "(not set)";
    if (left != right) lines += "\n  " + key + ": dataset " + left + ", run " + right;
  }
  return lines;
}

}  // namespace

void set_config_fingerprint(DataPlan& plan, const toml::table& tokenizer_section) {
  std::ostringstream text;
  text << "anvil-dataset " << kDatasetFormatVersion << "\n" << plan.prepare.options_json << "\n"
       << format_toml(tokenizer_section) << "\n";
  for (const auto* list : {&plan.prepare.train_inputs, &plan.prepare.valid_inputs}) {
    text << (list == &plan.prepare.train_inputs ? "train" : "valid") << "\n";
    for (const fs::path& file : *list)
      text << fs::absolute(file).string() << " " << fs::file_size(file) << " "
           << fs::last_write_time(file).time_since_epoch().count() << "\n";
  }
  if (!plan.tokenizer_dir.empty()) text << fingerprint_folder(plan.tokenizer_dir);
  const std::string bytes = text.str();
  plan.prepare.config_fingerprint = checksum_bytes(bytes.data(), bytes.size());
}


fs::path dataset_dir_of(const Manifest& manifest) {
  const toml::table& root = manifest.root();
  const toml::node* dataset = root.at_path("data.dataset").node();
  if (dataset && !dataset->value_or(std::string()).empty()) return Manifest::resolve_path(*dataset);
  const toml::table& run = *root["run"].as_table();
  return Manifest::resolve_path(*run.get("out_dir")) / run["name"].value_or(std::string("run")) /
         "data";
}

DataPlan plan_data(const Manifest& manifest) {
  const toml::table& data = *manifest.root()["data"].as_table();
  DataPlan plan;
  plan.prepare = prepare_options_of(data);
  plan.prepare.train_inputs = inputs_of(data, "train");
  if (plan.prepare.train_inputs.empty())
    throw DataError(manifest.path().string() + ": [data] train lists no inputs to prepare",
                    "add train = [\"corpus.txt\"] (files, folders or globs) to [data]");
  plan.prepare.valid_inputs = inputs_of(data, "valid");
  plan.dataset_dir = dataset_dir_of(manifest);
  plan.prepare.out = plan.dataset_dir;
  if (const toml::node* tokenizer = data.get("tokenizer");
      tokenizer && !tokenizer->value_or(std::string()).empty())
    plan.tokenizer_dir = Manifest::resolve_path(*tokenizer);
  plan.prepare.options_json = options_json(data);
  return plan;
}

toml::table data_tokenizer_section(const DataPlan& plan, const toml::table* manifest_section,
                                  const std::string& plugin) {
  if (plan.tokenizer_dir.empty()) return *manifest_section;
  toml::table stored = tokenizer_section_of(plan.tokenizer_dir, plugin);
  if (!manifest_section) return stored;
  // A folder written by another tool records nothing: the manifest's section describes it.
  if (!fs::exists(plan.tokenizer_dir / kTokenizerSidecar)) return *manifest_section;
  const std::string wanted = (*manifest_section)["plugin"].value_or(std::string());
  const std::string found = stored["plugin"].value_or(std::string());
  if (wanted != found)
    throw DataError("[data] tokenizer '" + plan.tokenizer_dir.string() + "' holds a " + found +
                        " tokenizer, but [tokenizer] plugin is " + wanted,
                    "point [data] tokenizer at a " + wanted + " tokenizer, or change [tokenizer]");
  // The manifest may name the parts of the folder's special tokens (eos_token, pad_token, ...).
  for (const OptionSpec& host_key : host_schema(ComponentKind::tokenizer)->specs())
    if (const toml::node* value = manifest_section->get(host_key.key()))
      stored.insert_or_assign(host_key.key(), *value);
  return stored;
}

void check_dataset_fits_run(const DatasetInfo& info, const fs::path& dataset_dir,
                            const toml::table& tokenizer_section, std::int64_t seq_len,
                            const std::string& manifest_file) {
  const toml::table stored = tokenizer_section_of(dataset_dir / kDatasetTokenizerDir, "");
  const std::string differences = tokenizer_differences(stored, tokenizer_section);
  if (!differences.empty())
    throw DataError("dataset '" + dataset_dir.string() + "' was tokenized with another tokenizer "
                        "than [tokenizer] in " + manifest_file + " describes:" + differences,
                    "prepare the data again for this run (anvil data prepare " + manifest_file +
                        "), or point [data] dataset at a dataset made with this tokenizer");
  const auto train = info.splits.find("train");
  const std::uint64_t tokens = train == info.splits.end() ? 0 : train->second.tokens;
  if (tokens < static_cast<std::uint64_t>(seq_len) + 1)
    throw DataError("the train split of '" + dataset_dir.string() + "' has " +
                        std::to_string(tokens) + " tokens, fewer than seq_len + 1 = " +
                        std::to_string(seq_len + 1),
                    "lower [training] seq_len in " + manifest_file + " or add training data");
}

}  // namespace anvil::core
