#include "run/data_setup.h"

#include "run/tokenizer_setup.h"
#include "data/data_options.h"
#include "data/input_files.h"
#include "manifest/core_sections.h"
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

// [data], [data.clean] and [data.dedup] as validation left them: every key set, defaults (from
// their one declaration: core_schema.cpp, data/data_options.cpp) filled in, every type and
// choice checked, so neither the reads nor the parsers can fail here.
PrepareOptions prepare_options_of(const toml::table& root) {
  const auto text = [&root](std::string_view path) { return validated_value<std::string>(root, path); };
  const auto integer = [&root](std::string_view path) { return validated_value<std::int64_t>(root, path); };
  const auto real = [&root](std::string_view path) { return validated_value<double>(root, path); };
  PrepareOptions o;
  o.reader.format = *parse_input_format(text("data.format"));
  o.reader.split = *parse_document_split(text("data.document"));
  o.reader.text_field = text("data.text_field");
  o.reader.on_bad_record = *parse_bad_record_policy(text("data.on_bad_record"));
  o.valid_fraction = real("data.valid_fraction");
  o.shard_tokens = static_cast<std::uint64_t>(integer("data.shard_tokens"));
  o.eos_token = text("data.eos_token");
  o.workers = static_cast<int>(integer("data.workers"));
  // The sub-sections through the bindings that declared them.
  o.clean = read_validated_section(clean_binding(), root, "data.clean");
  o.dedup = read_validated_section(dedup_binding(), root, "data.dedup");
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
  plan.prepare = prepare_options_of(manifest.root());
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
