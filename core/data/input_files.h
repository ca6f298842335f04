#pragma once
// Which files a manifest's input list means: plain paths, folders (recursively) and glob
// patterns, expanded to one sorted list so every run reads the corpus in the same order.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace anvil::core {

/// Expands each entry of `inputs`, in order:
///   - an existing regular file is taken as is;
///   - an existing folder contributes every regular file below it, recursively (names starting
///     with '.' are skipped, as are folders starting with '.');
///   - anything else is a glob pattern: `*`, `?` and `[...]` match within one path component,
///     and a component that is exactly `**` matches any number of folders (zero included);
///     as in a shell, a wildcard does not match a name starting with '.' unless the pattern
///     component starts with '.' too, and `**` never enters hidden folders.
/// Each entry's files are sorted by path; a file reached twice is kept at its first place.
/// An entry that matches no file is passed to `no_match` (with its index), and the expansion
/// goes on; without `no_match` it is a DataError naming the entry.
std::vector<std::filesystem::path> expand_inputs(
    const std::vector<std::filesystem::path>& inputs,
    const std::function<void(std::size_t index)>& no_match = {});

/// True when `name` matches the glob `pattern` (`*`, `?`, `[abc]`, `[a-z]`, `[!a]`) as one path
/// component (neither may contain '/').
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace anvil::core
