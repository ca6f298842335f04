#include "checkpoint/checkpoint_state.h"

#include "io/durable_file.h"

#include <anvil/errors.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace anvil::core {
namespace {

constexpr const char* kFormat = "anvil-checkpoint-state 1";

template <typename T>
T field(const ordered_json& object, const char* key, const fs::path& path) {
  const auto it = object.find(key);
  bool ok = it != object.end();
  if (ok) {
    if constexpr (std::is_same_v<T, std::string>) ok = it->is_string();
    else if constexpr (std::is_floating_point_v<T>) ok = it->is_number();
    else ok = it->is_number_integer();
  }
  if (!ok)
    throw DataError(path.string() + ": field \"" + key + "\" is missing or has the wrong type",
                    "the checkpoint is damaged; resume from an earlier one");
  return it->get<T>();
}

}  // namespace

void write_checkpoint_state(const fs::path& path, const CheckpointState& state) {
  ordered_json plugins = ordered_json::array();
  for (const PluginRecord& p : state.plugins)
    plugins.push_back({{"kind", p.kind}, {"name", p.name}, {"library", p.library}, {"version", p.version}});
  const ordered_json json{{"format", kFormat},
                          {"step", state.step},
                          {"tokens", state.tokens},
                          {"skipped_steps", state.skipped_steps},
                          {"loss_scale", state.loss_scale},
                          {"loss_scale_good_steps", state.loss_scale_good_steps},
                          {"train_seconds", state.train_seconds},
                          {"loader", state.loader},
                          {"plugins", std::move(plugins)},
                          {"anvil_version", state.anvil_version},
                          {"torch_version", state.torch_version}};
  const std::string text = json.dump(2) + "\n";
  DurableFile out(path, "checkpoint state");
  out.write(text.data(), text.size());
  out.sync_and_close();
}

CheckpointState read_checkpoint_state(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot read " + path.string(), "the checkpoint is incomplete");
  std::stringstream text;
  text << in.rdbuf();
  const ordered_json json = ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || json.value("format", "") != kFormat)
    throw DataError(path.string() + ": not an \"" + kFormat + "\" file",
                    "the checkpoint is damaged or was written by another program");
  CheckpointState state;
  state.step = field<std::int64_t>(json, "step", path);
  state.tokens = field<std::int64_t>(json, "tokens", path);
  state.skipped_steps = field<std::int64_t>(json, "skipped_steps", path);
  state.loss_scale = field<double>(json, "loss_scale", path);
  state.loss_scale_good_steps = field<std::int64_t>(json, "loss_scale_good_steps", path);
  state.train_seconds = field<double>(json, "train_seconds", path);
  state.loader = field<std::string>(json, "loader", path);
  state.anvil_version = field<std::string>(json, "anvil_version", path);
  state.torch_version = field<std::string>(json, "torch_version", path);
  if (json.contains("plugins") && json["plugins"].is_array())
    for (const ordered_json& p : json["plugins"])
      if (p.is_object())
        state.plugins.push_back({p.value("kind", ""), p.value("name", ""), p.value("library", ""),
                                 p.value("version", "")});
  if (state.step < 0) throw DataError(path.string() + ": field \"step\" is negative");
  return state;
}

}  // namespace anvil::core
