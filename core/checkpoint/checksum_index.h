#pragma once
// checksums.json: the size and XXH3-128 of every file of a checkpoint folder, written last, so
// that a damaged, truncated or half-copied checkpoint is recognised before anything is loaded.

#include <filesystem>
#include <vector>

namespace anvil::core {

/// Hashes every regular file below `dir` (except checksums.json itself) and writes
/// <dir>/checksums.json, fsynced. Throws DataError naming a file that cannot be read or written.
void write_checksum_index(const std::filesystem::path& dir);

/// Checks <dir>/checksums.json against the files it lists and that every one of `required`
/// (relative names) is listed. Throws DataError naming the checkpoint and the first file that
/// is missing, has another size, or another checksum (or a missing or malformed index).
void verify_checksum_index(const std::filesystem::path& dir,
                           const std::vector<std::filesystem::path>& required);

}  // namespace anvil::core
