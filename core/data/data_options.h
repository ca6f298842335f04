#pragma once
// The [data.clean] and [data.dedup] manifest sections, each key declared once and bound to its
// member of CleanOptions or DedupOptions: the manifest's schema (core_schema) and the reading of
// a validated table (data_setup) come from the same declaration.

#include "data/cleaner.h"
#include "data/dedup.h"

#include <anvil/option_binding.h>

namespace anvil::core {

/// [data.clean]: Unicode normalization, invalid UTF-8, control characters, quality filters.
const OptionBinding<CleanOptions>& clean_binding();

/// [data.dedup]: exact and MinHash + LSH near-duplicate removal.
const OptionBinding<DedupOptions>& dedup_binding();

}  // namespace anvil::core
