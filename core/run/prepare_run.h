#pragma once
// Preparing a manifest's dataset when it is missing or out of date: shared by
// `anvil data prepare` and `anvil train`, which prepares before it trains.

#include "manifest/manifest.h"
#include "plugin/plugin_host.h"

#include <toml++/toml.h>

#include <filesystem>
#include <ostream>
#include <string>

namespace anvil::core {

/// Prepares the dataset of a validated `manifest` (its [data] sections) with the tokenizer
/// [data] tokenizer names or `manifest_tokenizer` describes, unless an intact dataset made
/// from the same inputs, options and tokenizer is there already (or `force`). Writes the stage
/// report, or one line saying it is up to date, to `out`. `plugin_override` names the plugin
/// of a tokenizer folder that has no anvil-tokenizer.toml. Returns the dataset folder.
/// Throws DataError when the folder exists and is not a dataset (it is never overwritten).
std::filesystem::path prepare_data(const Manifest& manifest, const PluginHost& host,
                                   const toml::table* manifest_tokenizer,
                                   const std::string& plugin_override, bool force,
                                   std::ostream& out);

}  // namespace anvil::core
