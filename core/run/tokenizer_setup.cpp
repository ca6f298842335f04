#include "run/tokenizer_setup.h"

#include "run/open_run.h"
#include "log/logging.h"
#include "manifest/manifest.h"
#include "manifest/validate.h"

#include <anvil/errors.h>
#include <anvil/options.h>
#include <anvil/toml_text.h>

#include <fstream>

namespace fs = std::filesystem;

namespace anvil::core {

std::shared_ptr<Tokenizer> make_tokenizer(const PluginHost& host, toml::table& section,
                                          const std::string& where, Logger& logger) {
  const auto plugin = section["plugin"].value<std::string>();
  if (!plugin) throw Error(where + ": the [tokenizer] section has no plugin name");
  const ComponentSpec* spec = host.find_spec(ComponentKind::tokenizer, *plugin);
  if (!spec) {
    const std::string close = closest_match(*plugin, host.names(ComponentKind::tokenizer));
    throw PluginError(*plugin, "unknown tokenizer plugin '" + *plugin + "'",
                      (close.empty() ? std::string() : "did you mean '" + close + "'? ") +
                          "available: " + join(host.names(ComponentKind::tokenizer)));
  }
  Diagnostics diagnostics;
  spec->options.validate(section, "tokenizer", diagnostics, reserved_keys(ComponentKind::tokenizer));
  diagnostics.throw_if_any();
  Options options(section, "tokenizer", diagnostics);
  RunContext context;
  context.logger = &logger;
  return host.create<Tokenizer>(*plugin, options, context);
}

void write_tokenizer_sidecar(const fs::path& dir, const toml::table& section) {
  toml::table root;
  root.insert("tokenizer", section);
  const fs::path file = dir / kTokenizerSidecar;
  std::ofstream out(file, std::ios::binary);
  out << "# The [tokenizer] section this tokenizer was trained with (written by anvil).\n"
      << format_toml(root);
  if (!out) throw Error("cannot write '" + file.string() + "'");
}

void check_named_tokens(const Tokenizer& tokenizer, const toml::table& section, const std::string& where) {
  for (const OptionSpec& host_key : host_schema(ComponentKind::tokenizer)->specs())
    if (const auto token = section[host_key.key()].value<std::string>(); token && !tokenizer.token_to_id(*token))
      throw DataError(where + ": [tokenizer] " + host_key.key() + " \"" + *token + "\" is not a token of the tokenizer",
                      "name one of its special tokens, or add it to the tokenizer's special_tokens");
}

std::string end_of_document_token(const std::string& data_eos_token, const toml::table& tokenizer_section) {
  if (!data_eos_token.empty()) return data_eos_token;
  return tokenizer_section["eos_token"].value_or(std::string(kDefaultEosToken));
}

toml::table tokenizer_section_of(const fs::path& dir, const std::string& plugin) {
  if (!fs::is_directory(dir)) throw DataError("tokenizer folder '" + dir.string() + "' does not exist");
  toml::table section;
  const fs::path sidecar = dir / kTokenizerSidecar;
  if (fs::exists(sidecar)) {
    Manifest stored = Manifest::load(sidecar);
    if (toml::table* table = stored.root()["tokenizer"].as_table()) section = std::move(*table);
  } else if (plugin.empty()) {
    throw DataError("'" + dir.string() + "' has no " + kTokenizerSidecar + ", so its plugin is unknown",
                    "name it with --plugin (e.g. --plugin bpe for tokenizer.json, vocab.json + "
                    "merges.txt, or GPT-2's encoder.json + vocab.bpe)");
  }
  if (!plugin.empty()) section.insert_or_assign("plugin", plugin);
  return section;
}

OpenTokenizer open_tokenizer(const std::vector<std::string>& plugin_paths, const fs::path& dir,
                             const std::string& plugin) {
  toml::table section = tokenizer_section_of(dir, plugin);
  OpenTokenizer opened;
  const std::string name = section["plugin"].value_or(std::string());
  opened.host = discover_plugins_for(plugin_paths, ComponentKind::tokenizer, name);
  opened.logger = make_logger("tokenizer/" + name);
  opened.tokenizer = make_tokenizer(*opened.host, section, (dir / kTokenizerSidecar).string(),
                                    *opened.logger);
  opened.tokenizer->load(dir);
  return opened;
}

}  // namespace anvil::core
