#pragma once
// One plugin library on disk and in memory, the compatibility check of its info record
// (STYLE 2.6), and every PluginError text the loader and the host produce.
//
// The error texts live together here (built in plugin_library.cpp) so that docs and tests can
// list them from one place; plugin_host.cpp uses the builders below and writes no message of
// its own.

#include "plugin/host_info.h"

#include <anvil/component.h>
#include <anvil/errors.h>
#include <anvil/plugin.h>

#include <boost/dll/shared_library.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

/// The smallest info record the host accepts. Version 1 of the record is the first, so this is
/// its full size; when fields are appended, this stays at the v1 size and the host reads a new
/// field only when struct_size says the plugin has it.
inline constexpr std::uint32_t kMinPluginInfoSize = sizeof(anvil_plugin_info);

/// A loaded plugin library. It is opened with dlopen(RTLD_LAZY | RTLD_LOCAL) and closed only
/// when the last shared_ptr to it goes: the host keeps one for as long as it lives, and every
/// registered component and every created object keeps another (STYLE 2.7), so no object or
/// function from the library can outlive its code.
class PluginLibrary {
 public:
  /// Opens `path` (absolute). Throws PluginError (plugin() == path) when the file does not
  /// exist, is not a regular file, or cannot be loaded (the dynamic loader's reason included).
  /// Opening runs the library's static initializers but nothing else; call check() next.
  static std::shared_ptr<PluginLibrary> open(const std::filesystem::path& path);

  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

  /// The library's info record when it exports one at least kMinPluginInfoSize bytes large;
  /// nullptr otherwise. Readable before check(), so a rejected library can still be named.
  const anvil_plugin_info* info() const noexcept;

  /// Throws the first failed check as PluginError, in this order: no `anvil_plugin_info_v1`
  /// symbol, no record, then check_plugin_info(), then no `anvil_plugin_register` alias.
  void check(const HostInfo& host) const;

  /// The register entry point. Call only after check() passed.
  PluginRegisterFn& register_function() const;

 private:
  PluginLibrary(std::filesystem::path path, boost::dll::shared_library library);

  std::filesystem::path path_;
  boost::dll::shared_library library_;
  bool exports_info_ = false;
  const anvil_plugin_info* raw_info_ = nullptr;  // as returned; may be shorter than v1
};

/// Checks a plugin's info record against the host, in the order of STYLE 2.6: record size,
/// plugin ABI version, SDK major (equal) and minor (plugin <= host), LibTorch major.minor,
/// C++ standard library ABI, toml++ major and exceptions mode. Throws the first failure as
/// PluginError (plugin() == path). Reads no field past struct_size.
void check_plugin_info(const std::filesystem::path& path, const anvil_plugin_info& info,
                       const HostInfo& host);

/// The PluginErrors of the loader and the host, one builder per message. Each message is one
/// sentence; what to do about it is in hint(). `path` is a library's absolute path.
namespace plugin_errors {

// Opening the file (PluginLibrary::open).
PluginError file_missing(const std::filesystem::path& path);
PluginError not_regular_file(const std::filesystem::path& path);
PluginError not_loadable(const std::filesystem::path& path, std::string_view loader_reason);

// Entry points and the info record (PluginLibrary::check, check_plugin_info).
PluginError missing_info_symbol(const std::filesystem::path& path);
PluginError null_info_record(const std::filesystem::path& path);
PluginError info_too_small(const std::filesystem::path& path, std::uint32_t struct_size,
                           const HostInfo& host);
PluginError abi_mismatch(const std::filesystem::path& path, const anvil_plugin_info& info,
                         const HostInfo& host);
PluginError sdk_major_mismatch(const std::filesystem::path& path, const anvil_plugin_info& info,
                               const HostInfo& host);
PluginError sdk_too_new(const std::filesystem::path& path, const anvil_plugin_info& info,
                        const HostInfo& host);
PluginError sdk_too_old(const std::filesystem::path& path, const anvil_plugin_info& info,
                        const HostInfo& host);
PluginError torch_mismatch(const std::filesystem::path& path, const anvil_plugin_info& info,
                           const HostInfo& host);
PluginError cxx11_abi_mismatch(const std::filesystem::path& path, const anvil_plugin_info& info,
                               const HostInfo& host);
PluginError toml_mismatch(const std::filesystem::path& path, const anvil_plugin_info& info,
                          const HostInfo& host);
PluginError missing_register_symbol(const std::filesystem::path& path);

// Registration (PluginHost::load). `plugin_name` is the info record's name.
PluginError register_failed(const std::filesystem::path& path, std::string_view plugin_name,
                            std::string_view reason);
PluginError unnamed_component(const std::filesystem::path& path, std::string_view plugin_name,
                              ComponentKind kind);
PluginError component_without_factory(const std::filesystem::path& path,
                                      std::string_view plugin_name, ComponentKind kind,
                                      std::string_view name);
PluginError duplicate_component(ComponentKind kind, std::string_view name,
                                const std::filesystem::path& first,
                                const std::filesystem::path& second);
PluginError duplicate_in_library(ComponentKind kind, std::string_view name,
                                 const std::filesystem::path& path);
/// A footprint registered for an architecture the library does not register.
PluginError footprint_without_model(const std::filesystem::path& path,
                                    std::string_view plugin_name, std::string_view name);
/// Anything else that went wrong while loading (e.g. out of memory), so load() throws only
/// PluginError.
PluginError load_failed(const std::filesystem::path& path, std::string_view reason);

// Creating components (PluginHost::create_component).
PluginError unknown_component(ComponentKind kind, std::string_view name,
                              const std::vector<std::string>& available, const std::string& searched = {});
PluginError component_failed(ComponentKind kind, std::string_view name,
                             const std::filesystem::path& path, std::string_view reason);

/// The reason given for a plugin exception that does not derive from std::exception.
inline constexpr const char* kUnknownException = "an exception not derived from std::exception";
/// The reason given when a factory returns a null pointer.
inline constexpr const char* kFactoryReturnedNull = "its factory returned no object";

}  // namespace plugin_errors

}  // namespace anvil::core
