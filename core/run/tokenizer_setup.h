#pragma once
// Making tokenizers from [tokenizer] sections and trained folders, shared by the tokenizer and
// data commands. A trained tokenizer is a folder: the plugin's own files plus
// anvil-tokenizer.toml, the resolved [tokenizer] section that made it, so a later command knows
// which plugin reads the folder and with which options.

#include "plugin/plugin_host.h"

#include <anvil/log.h>
#include <anvil/tokenizer.h>

#include <toml++/toml.h>

#include <filesystem>
#include <memory>
#include <string>

namespace anvil::core {


inline constexpr const char* kTokenizerSidecar = "anvil-tokenizer.toml";

/// The tokenizer a [tokenizer] section describes, its options checked against the plugin's
/// schema (defaults filled into `section`). `where` names the section's file in errors.
std::shared_ptr<Tokenizer> make_tokenizer(const PluginHost& host, toml::table& section,
                                          const std::string& where, Logger& logger);

/// Writes `section` as <dir>/anvil-tokenizer.toml.
void write_tokenizer_sidecar(const std::filesystem::path& dir, const toml::table& section);

/// The [tokenizer] section stored with a trained tokenizer in `dir`, with `plugin` (when not
/// empty) replacing its plugin. Without a sidecar, `plugin` must name the plugin (folders
/// written by other tools); otherwise throws DataError.
toml::table tokenizer_section_of(const std::filesystem::path& dir, const std::string& plugin);

/// A loaded tokenizer with the host and logger it needs; members are destroyed bottom-up, so
/// the tokenizer goes before the logger it may write to and the library that made it.
/// The end-of-document token when neither [data] nor [tokenizer] names one.
inline constexpr const char* kDefaultEosToken = "<|endoftext|>";

/// Throws DataError (prefixed with `where`) when [tokenizer] eos_token, pad_token or unk_token
/// names a token the tokenizer does not have.
void check_named_tokens(const Tokenizer& tokenizer, const toml::table& section, const std::string& where);

/// The token that ends every document: [data] eos_token when set, else the tokenizer's own
/// eos_token (its section, or its folder's record), else kDefaultEosToken.
std::string end_of_document_token(const std::string& data_eos_token, const toml::table& tokenizer_section);

struct OpenTokenizer {
  std::unique_ptr<PluginHost> host;
  std::unique_ptr<Logger> logger;
  std::shared_ptr<Tokenizer> tokenizer;
};

/// Loads the trained tokenizer in `dir` (see tokenizer_section_of), with plugins found from
/// the common options.
OpenTokenizer open_tokenizer(const std::vector<std::string>& plugin_paths, const std::filesystem::path& dir,
                             const std::string& plugin);

}  // namespace anvil::core
