#pragma once
// Command-line overrides, `--set KEY=VALUE`, applied over a merged manifest table.
//
// KEY is a dotted path of bare TOML keys (letters, digits, '_' and '-'); a segment may index an
// existing array of tables, `loss[1].weight` (0-based). VALUE is typed by TOML rules (`200` is an
// integer, `0.5` a float, `true` a boolean, `[1, 2]` an array, `"x"` a string); a value that is
// not valid TOML but is a bare word (letters, digits and `_-./:+`, e.g. `cosine`, `cuda:0`,
// `runs/a`) is taken as a string. Missing tables along KEY are created; replacing a table with
// a value, or setting a key inside something that is not a table, is an error.
//
// Every node an override adds has the source path "--set KEY=VALUE", line 1, and columns that
// index into KEY=VALUE itself, so diagnostics point at the override text (diagnostic_printer.h).

#include "manifest/manifest.h"

#include <anvil/options.h>

#include <string>

namespace anvil::core {

/// The source path of the nodes `override` adds, and the file of its diagnostics: "--set TEXT".
std::string override_source(const Override& override);

/// Applies `override` to `root`. A malformed override (no '=', an empty or invalid key, a
/// value that is neither TOML nor a bare word) or a conflicting one adds a diagnostic to
/// `diagnostics` and leaves `root` as it was.
void apply_override(toml::table& root, const Override& override, Diagnostics& diagnostics);

}  // namespace anvil::core
