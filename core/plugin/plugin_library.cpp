#include "plugin/plugin_library.h"

#include <fmt/format.h>

#include <dlfcn.h>

#include <system_error>
#include <utility>

namespace anvil::core {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Messages. Every text the loader and the host report is here.
// ---------------------------------------------------------------------------------------------
namespace plugin_errors {

namespace {

constexpr const char* kEntryPointsHint =
    "define the plugin's entry points with ANVIL_PLUGIN(...) from <anvil/plugin.h> and build it "
    "with anvil_add_plugin()";
constexpr const char* kPluginBugHint =
    "report this to the plugin's author, or remove the library from the plugin search path";
constexpr const char* kSearchPathHint =
    "check the plugin paths in the manifest's [plugins] table and in $ANVIL_PLUGIN_PATH";

std::string rebuild_against_sdk_hint(const HostInfo& host) {
  return fmt::format(
      "rebuild the plugin against Anvil SDK {} (see `anvil --version`): find_package(Anvil) with "
      "CMAKE_PREFIX_PATH pointing at this anvil's install prefix",
      host.sdk_version);
}

const char* on_off(std::uint32_t flag) { return flag ? "on" : "off"; }

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

PluginError file_missing(const fs::path& path) {
  return PluginError(path.string(), fmt::format("plugin '{}' does not exist", path.string()),
                     kSearchPathHint);
}

PluginError not_regular_file(const fs::path& path) {
  return PluginError(path.string(), fmt::format("plugin '{}' is not a regular file", path.string()),
                     "name a plugin library (.so) here, or list its folder in the manifest's "
                     "[plugins] paths or in $ANVIL_PLUGIN_PATH");
}

PluginError not_loadable(const fs::path& path, std::string_view loader_reason) {
  return PluginError(
      path.string(),
      fmt::format("plugin '{}' is not a loadable shared library: {}", path.string(), loader_reason),
      fmt::format("check that it is a plugin built with anvil_add_plugin() for this machine and "
                  "that the libraries it needs are found (`ldd {}`)",
                  path.string()));
}

PluginError missing_info_symbol(const fs::path& path) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' does not export {}, so it is not an Anvil plugin",
                                 path.string(), kPluginInfoSymbol),
                     kEntryPointsHint);
}

PluginError null_info_record(const fs::path& path) {
  return PluginError(
      path.string(),
      fmt::format("plugin '{}' returned no info record from {}", path.string(), kPluginInfoSymbol),
      kEntryPointsHint);
}

PluginError info_too_small(const fs::path& path, std::uint32_t struct_size, const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' has an info record of {} bytes, but this anvil needs "
                                 "at least {}",
                                 path.string(), struct_size, kMinPluginInfoSize),
                     rebuild_against_sdk_hint(host));
}

PluginError abi_mismatch(const fs::path& path, const anvil_plugin_info& info,
                         const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built for plugin ABI version {}, but this anvil "
                                 "uses plugin ABI version {}",
                                 path.string(), info.abi_version, host.abi_version),
                     rebuild_against_sdk_hint(host));
}

PluginError sdk_major_mismatch(const fs::path& path, const anvil_plugin_info& info,
                               const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built against Anvil SDK {}.{}, but this anvil "
                                 "provides Anvil SDK {}.{}",
                                 path.string(), info.sdk_major, info.sdk_minor, host.sdk_major,
                                 host.sdk_minor),
                     rebuild_against_sdk_hint(host));
}

PluginError sdk_too_new(const fs::path& path, const anvil_plugin_info& info, const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built against Anvil SDK {}.{}, which is newer "
                                 "than this anvil's Anvil SDK {}.{}",
                                 path.string(), info.sdk_major, info.sdk_minor, host.sdk_major,
                                 host.sdk_minor),
                     fmt::format("upgrade anvil to {}.{} or later, or rebuild the plugin against "
                                 "Anvil SDK {}",
                                 info.sdk_major, info.sdk_minor, host.sdk_version));
}

PluginError sdk_too_old(const fs::path& path, const anvil_plugin_info& info, const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built against Anvil SDK {}.{}, older than the "
                                 "oldest this anvil loads ({}.{}: the model layers moved from "
                                 "libanvil_sdk to libanvil_nn)",
                                 path.string(), info.sdk_major, info.sdk_minor, host.sdk_major,
                                 host.oldest_sdk_minor),
                     rebuild_against_sdk_hint(host));
}

PluginError torch_mismatch(const fs::path& path, const anvil_plugin_info& info,
                           const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built against LibTorch {}.{}, but this anvil "
                                 "uses LibTorch {}.{}",
                                 path.string(), info.torch_major, info.torch_minor,
                                 host.torch_major, host.torch_minor),
                     fmt::format("rebuild the plugin against LibTorch {}.{} (see `anvil "
                                 "--version`): find_package(Anvil) with CMAKE_PREFIX_PATH "
                                 "pointing at the same LibTorch",
                                 host.torch_major, host.torch_minor));
}

PluginError cxx11_abi_mismatch(const fs::path& path, const anvil_plugin_info& info,
                               const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built with _GLIBCXX_USE_CXX11_ABI={}, but this "
                                 "anvil uses _GLIBCXX_USE_CXX11_ABI={}",
                                 path.string(), info.cxx11_abi, host.cxx11_abi),
                     "rebuild the plugin against the same LibTorch as anvil (its CMake package "
                     "sets the flag) and do not set _GLIBCXX_USE_CXX11_ABI yourself");
}

PluginError toml_mismatch(const fs::path& path, const anvil_plugin_info& info,
                          const HostInfo& host) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' was built against toml++ {} with exceptions {}, but "
                                 "this anvil uses toml++ {} with exceptions {}",
                                 path.string(), info.toml_major, on_off(info.toml_exceptions),
                                 host.toml_major, on_off(host.toml_exceptions)),
                     fmt::format("rebuild the plugin against toml++ {} (find_package(Anvil) brings "
                                 "the one anvil uses) and do not define TOML_EXCEPTIONS",
                                 host.toml_major));
}

PluginError missing_register_symbol(const fs::path& path) {
  return PluginError(
      path.string(),
      fmt::format("plugin '{}' does not export {}", path.string(), kPluginRegisterSymbol),
      kEntryPointsHint);
}

PluginError register_failed(const fs::path& path, std::string_view plugin_name,
                            std::string_view reason) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' ({}) failed while registering its components: {}",
                                 plugin_name, path.string(), reason),
                     kPluginBugHint);
}

PluginError unnamed_component(const fs::path& path, std::string_view plugin_name,
                              ComponentKind kind) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' ({}) registered a {} with an empty name",
                                 plugin_name, path.string(), to_string(kind)),
                     kPluginBugHint);
}

PluginError component_without_factory(const fs::path& path, std::string_view plugin_name,
                                      ComponentKind kind, std::string_view name) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' ({}) registered {} '{}' without a factory",
                                 plugin_name, path.string(), to_string(kind), name),
                     kPluginBugHint);
}

PluginError duplicate_component(ComponentKind kind, std::string_view name, const fs::path& first,
                                const fs::path& second) {
  return PluginError(second.string(),
                     fmt::format("{} '{}' is registered by both '{}' and '{}'", to_string(kind),
                                 name, first.string(), second.string()),
                     "remove one of the two libraries from the plugin search path (the "
                     "manifest's [plugins] paths, $ANVIL_PLUGIN_PATH)");
}

PluginError duplicate_in_library(ComponentKind kind, std::string_view name, const fs::path& path) {
  return PluginError(path.string(),
                     fmt::format("{} '{}' is registered twice by '{}'", to_string(kind), name,
                                 path.string()),
                     kPluginBugHint);
}

PluginError footprint_without_model(const fs::path& path, std::string_view plugin_name,
                                    std::string_view name) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' ({}) registered a footprint for architecture '{}', "
                                 "which it does not register (or registers without a factory)",
                                 plugin_name, path.string(), name),
                     kPluginBugHint);
}

PluginError load_failed(const fs::path& path, std::string_view reason) {
  return PluginError(path.string(),
                     fmt::format("plugin '{}' could not be loaded: {}", path.string(), reason));
}

PluginError unknown_component(ComponentKind kind, std::string_view name,
                              const std::vector<std::string>& available, const std::string& searched) {
  std::string message = fmt::format("no {} named '{}' is registered", to_string(kind), name);
  if (available.empty()) {
    message += fmt::format("; no loaded plugin provides a {}", to_string(kind));
  } else {
    const std::string suggestion = closest_match(name, available);
    if (!suggestion.empty()) message += fmt::format(" (did you mean '{}'?)", suggestion);
    message += "; available: " + join(available);
  }
  if (!searched.empty()) message += " (" + searched + ")";
  return PluginError(std::string(name), message,
                     "check the name, or add the folder of the plugin that provides it to the "
                     "manifest's [plugins] paths or to $ANVIL_PLUGIN_PATH; `anvil plugins list` "
                     "shows what was found");
}

PluginError component_failed(ComponentKind kind, std::string_view name, const fs::path& path,
                             std::string_view reason) {
  return PluginError(std::string(name), fmt::format("{} '{}' (from {}) failed: {}",
                                                    to_string(kind), name, path.string(), reason));
}

}  // namespace plugin_errors

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

void check_plugin_info(const fs::path& path, const anvil_plugin_info& info, const HostInfo& host) {
  // struct_size first: nothing past it may be read from a shorter record.
  if (info.struct_size < kMinPluginInfoSize)
    throw plugin_errors::info_too_small(path, info.struct_size, host);
  if (info.abi_version != host.abi_version) throw plugin_errors::abi_mismatch(path, info, host);
  if (info.sdk_major != host.sdk_major) throw plugin_errors::sdk_major_mismatch(path, info, host);
  if (info.sdk_minor > host.sdk_minor) throw plugin_errors::sdk_too_new(path, info, host);
  if (info.sdk_minor < host.oldest_sdk_minor) throw plugin_errors::sdk_too_old(path, info, host);
  if (info.torch_major != host.torch_major || info.torch_minor != host.torch_minor)
    throw plugin_errors::torch_mismatch(path, info, host);
  if (info.cxx11_abi != host.cxx11_abi) throw plugin_errors::cxx11_abi_mismatch(path, info, host);
  if (info.toml_major != host.toml_major || info.toml_exceptions != host.toml_exceptions)
    throw plugin_errors::toml_mismatch(path, info, host);
}

namespace {

// dlerror() usually starts with the file name, which our message already gives.
std::string loader_reason(const fs::path& path) {
  const char* text = ::dlerror();
  if (!text) return "the dynamic loader gave no reason";
  std::string reason = text;
  const std::string prefix = path.string() + ": ";
  if (reason.compare(0, prefix.size(), prefix) == 0) reason.erase(0, prefix.size());
  return reason;
}

}  // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::open(const fs::path& path) {
  std::error_code status_error;
  const fs::file_status status = fs::status(path, status_error);
  if (status.type() == fs::file_type::not_found) throw plugin_errors::file_missing(path);
  // When the status is unreadable (e.g. permissions), let dlopen say why.
  if (!status_error && !fs::is_regular_file(status)) throw plugin_errors::not_regular_file(path);

  boost::dll::shared_library library;
  boost::dll::fs::error_code load_error;
  ::dlerror();  // clear any stale message, so the one we read is about this file
  library.load(boost::dll::fs::path(path.string()),
               boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, load_error);
  if (load_error || !library.is_loaded())
    throw plugin_errors::not_loadable(path, loader_reason(path));
  return std::shared_ptr<PluginLibrary>(new PluginLibrary(path, std::move(library)));
}

PluginLibrary::PluginLibrary(fs::path path, boost::dll::shared_library library)
    : path_(std::move(path)), library_(std::move(library)) {
  exports_info_ = library_.has(kPluginInfoSymbol);
  // The info entry point is plain C and returns a static record: safe to call before any check.
  if (exports_info_) raw_info_ = library_.get<const anvil_plugin_info*()>(kPluginInfoSymbol)();
}

PluginLibrary::~PluginLibrary() = default;

const anvil_plugin_info* PluginLibrary::info() const noexcept {
  return raw_info_ && raw_info_->struct_size >= kMinPluginInfoSize ? raw_info_ : nullptr;
}

void PluginLibrary::check(const HostInfo& host) const {
  if (!exports_info_) throw plugin_errors::missing_info_symbol(path_);
  if (!raw_info_) throw plugin_errors::null_info_record(path_);
  check_plugin_info(path_, *raw_info_, host);
  if (!library_.has(kPluginRegisterSymbol)) throw plugin_errors::missing_register_symbol(path_);
}

PluginRegisterFn& PluginLibrary::register_function() const {
  return library_.get_alias<PluginRegisterFn>(kPluginRegisterSymbol);
}

}  // namespace anvil::core
