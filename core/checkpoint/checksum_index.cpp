#include "checkpoint/checksum_index.h"

#include "checkpoint/checkpoint_layout.h"
#include "io/checksum.h"
#include "io/durable_file.h"

#include <anvil/errors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace anvil::core {
namespace {

constexpr const char* kFormat = "anvil-checksums 1";
constexpr const char* kDamagedHint =
    "the checkpoint is damaged or incomplete; resume from an earlier one (anvil train --resume "
    "<checkpoint folder>) or start over";

std::vector<fs::path> files_below(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    fs::path relative = entry.path().lexically_relative(dir);
    if (relative != kChecksumsFile) files.push_back(relative);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

void write_checksum_index(const fs::path& dir) {
  ordered_json files = ordered_json::object();
  for (const fs::path& relative : files_below(dir)) {
    const fs::path file = dir / relative;
    files[relative.generic_string()] = {{"bytes", fs::file_size(file)},
                                        {"xxh3_128", checksum_file(file)}};
  }
  const std::string text =
      ordered_json{{"format", kFormat}, {"files", std::move(files)}}.dump(2) + "\n";
  DurableFile out(dir / kChecksumsFile, "checkpoint checksum index");
  out.write(text.data(), text.size());
  out.sync_and_close();
}

void verify_checksum_index(const fs::path& dir, const std::vector<fs::path>& required) {
  const fs::path index_path = dir / kChecksumsFile;
  std::ifstream in(index_path);
  if (!in)
    throw DataError("checkpoint " + dir.string() + " has no " + kChecksumsFile +
                        " (it was not completely written)",
                    kDamagedHint);
  std::stringstream text;
  text << in.rdbuf();
  const ordered_json index = ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!index.is_object() || index.value("format", "") != kFormat || !index.contains("files") ||
      !index["files"].is_object())
    throw DataError(index_path.string() + ": not an \"" + kFormat + "\" index", kDamagedHint);
  const ordered_json& files = index["files"];
  for (const fs::path& name : required)
    if (!files.contains(name.generic_string()))
      throw DataError(index_path.string() + ": lists no " + name.generic_string(), kDamagedHint);
  for (const auto& [name, entry] : files.items()) {
    const fs::path file = dir / name;
    if (!entry.is_object() || !entry.contains("bytes") || !entry["bytes"].is_number_unsigned() ||
        !entry.contains("xxh3_128") || !entry["xxh3_128"].is_string())
      throw DataError(index_path.string() + ": entry \"" + name + "\" needs bytes and xxh3_128",
                      kDamagedHint);
    std::error_code error;
    const std::uintmax_t size = fs::file_size(file, error);
    if (error)
      throw DataError("checkpoint file " + file.string() + " is missing", kDamagedHint);
    if (size != entry["bytes"].get<std::uintmax_t>())
      throw DataError("checkpoint file " + file.string() + " has " + std::to_string(size) +
                          " bytes, " + kChecksumsFile + " says " +
                          std::to_string(entry["bytes"].get<std::uintmax_t>()),
                      kDamagedHint);
    if (checksum_file(file) != entry["xxh3_128"].get<std::string>())
      throw DataError("checkpoint file " + file.string() + " does not match its checksum in " +
                          kChecksumsFile,
                      kDamagedHint);
  }
}

}  // namespace anvil::core
