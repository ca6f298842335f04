#include "manifest/manifest_diff.h"

#include "manifest/manifest.h"

#include <anvil/toml_text.h>

#include <set>

namespace anvil::core {
namespace {

constexpr const char* kNotSet = "(not set)";

std::string text_of(const toml::node* node) { return node ? format_toml_value(*node) : kNotSet; }

bool is_table_array(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && array->is_array_of_tables();
}

void diff_node(const std::string& key, const toml::node* before, const toml::node* after,
               std::vector<ManifestChange>& changes);

void diff_table(const std::string& prefix, const toml::table& before, const toml::table& after,
                std::vector<ManifestChange>& changes) {
  std::set<std::string> keys;
  for (const auto& [key, value] : before) keys.insert(std::string(key.str()));
  for (const auto& [key, value] : after) keys.insert(std::string(key.str()));
  for (const std::string& key : keys)
    diff_node(prefix.empty() ? key : prefix + "." + key, before.get(key), after.get(key), changes);
}

void diff_node(const std::string& key, const toml::node* before, const toml::node* after,
               std::vector<ManifestChange>& changes) {
  if (before && after && before->is_table() && after->is_table()) {
    diff_table(key, *before->as_table(), *after->as_table(), changes);
    return;
  }
  if (before && after && is_table_array(*before) && is_table_array(*after) &&
      before->as_array()->size() == after->as_array()->size()) {
    const toml::array& a = *before->as_array();
    const toml::array& b = *after->as_array();
    for (std::size_t i = 0; i < a.size(); ++i)
      diff_table(key + "[" + std::to_string(i) + "]", *a[i].as_table(), *b[i].as_table(), changes);
    return;
  }
  const std::string was = text_of(before), now = text_of(after);
  if (was != now) changes.push_back({key, was, now});
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

void make_absolute(toml::node* node) {
  if (!node) return;
  if (toml::array* array = node->as_array()) {
    for (toml::node& entry : *array) make_absolute(&entry);
  } else if (node->is_string() && !node->value_or(std::string()).empty()) {
    const std::string absolute = Manifest::resolve_path(*node).string();
    *node->as_string() = absolute;
  }
}

}  // namespace

std::vector<ManifestChange> diff_manifests(const toml::table& before, const toml::table& after) {
  std::vector<ManifestChange> changes;
  diff_table("", before, after, changes);
  return changes;
}

bool is_safe_resume_change(const std::string& key) {
  // The learning-rate schedule may change too: a finished run is extended with a new phase
  // (see the warning in anvil train), and no state depends on it.
  static const std::set<std::string> exact{"training.steps", "training.eval_every", "run.log_every",
                                           "run.out_dir", "run.threads", "training.schedule",
                                           "training.warmup_steps", "training.min_lr_ratio",
                                           "training.decay_fraction", "optimizer.lr"};
  return exact.count(key) > 0 || starts_with(key, "checkpoint.") || starts_with(key, "sample.") ||
         starts_with(key, "eval[") || key == "eval";
}

void make_paths_absolute(toml::table& root) {
  for (const char* key : {"run.out_dir", "plugins.paths", "data.train", "data.valid", "data.dataset",
                          "data.tokenizer"})
    make_absolute(root.at_path(key).node());
}

}  // namespace anvil::core
