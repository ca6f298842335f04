#pragma once
// The core's manifest sections whose keys map one to one onto a struct, each key declared once
// with OptionBinding: the schema core_schema validates against (type, default, range, doc) and
// the reading of the validated table come from the same declaration.

#include <anvil/errors.h>
#include <anvil/option_binding.h>

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

struct SampleConfig {
  std::string prompt;  ///< empty: no sample
  std::int64_t max_new_tokens = 200;
  double temperature = 0.8;  ///< 0 = greedy
  std::int64_t top_k = 40;   ///< 0 = all tokens
  double top_p = 1.0;        ///< nucleus sampling mass; 1 = all tokens
  double repetition_penalty = 1.0;  ///< > 1 discourages repeating tokens; 1 = off
  std::vector<std::string> stop;    ///< generation ends before the first of these strings
  bool stop_at_end_of_text = true;  ///< generation ends at the tokenizer's end-of-text token
  std::uint64_t seed = 0;    ///< 0 = the run's seed
};

struct CheckpointConfig {
  std::int64_t every_steps = 0;  ///< 0: not by step count
  double every_minutes = 0;      ///< 0: not by time
  bool at_end = true;
  std::int64_t keep_last = 3;    ///< 0: keep all
  std::int64_t keep_every = 0;   ///< 0: none kept for their step
  bool async = false;
  bool resume_auto = true;       ///< resume = "auto"
};

/// The section at `path` ("data.clean") of a validated manifest's `root`, read through the
/// `binding` that declared it. Validation filled in every default and checked every value, so a
/// missing table or a problem reading it is a programming error (anvil::Error "internal: ...").
template <class Struct>
Struct read_validated_section(const OptionBinding<Struct>& binding, const toml::table& root,
                              std::string_view path) {
  const toml::table* table = root.at_path(path).as_table();
  ANVIL_CHECK(table != nullptr, "internal: manifest section [", path, "] is not set after validation");
  Diagnostics diagnostics;
  Struct value = binding.read(Options(*table, std::string(path), diagnostics));
  ANVIL_CHECK(diagnostics.items().empty(), "internal: manifest section [", path, "] is not validated");
  return value;
}

/// [sample]: the text `anvil train` generates at the end, and `anvil generate`'s defaults.
const OptionBinding<SampleConfig>& sample_binding();

/// [checkpoint]: when checkpoints are saved and kept, and whether a run resumes.
const OptionBinding<CheckpointConfig>& checkpoint_binding();

}  // namespace anvil::core
