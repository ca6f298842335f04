#pragma once
// The build facts of this anvil binary that a plugin must match (STYLE 2.6), and that
// `anvil --version` prints. They come from the same macros ANVIL_PLUGIN_INFO_INIT uses in a
// plugin, so host and plugin describe themselves in the same terms.

#include <cstdint>
#include <string>

namespace anvil::core {

struct HostInfo {
  std::uint32_t abi_version = 0;   ///< ANVIL_PLUGIN_ABI_VERSION
  std::uint32_t sdk_major = 0;     ///< ANVIL_VERSION_MAJOR
  std::uint32_t sdk_minor = 0;     ///< ANVIL_VERSION_MINOR
  std::uint32_t oldest_sdk_minor = 0;  ///< ANVIL_VERSION_OLDEST_MINOR: older plugins are refused
  std::string sdk_version;         ///< ANVIL_VERSION_STRING, e.g. "0.1.0"
  std::uint32_t torch_major = 0;   ///< TORCH_VERSION_MAJOR
  std::uint32_t torch_minor = 0;   ///< TORCH_VERSION_MINOR
  std::string torch_version;       ///< TORCH_VERSION, e.g. "1.13.0"
  std::uint32_t cxx11_abi = 0;     ///< _GLIBCXX_USE_CXX11_ABI (0 on other standard libraries)
  std::uint32_t toml_major = 0;    ///< TOML_LIB_MAJOR
  std::uint32_t toml_exceptions = 0;  ///< TOML_EXCEPTIONS
  std::string toml_version;        ///< "MAJOR.MINOR.PATCH" of toml++
  std::string compiler;            ///< e.g. "GCC 12.2.0"
};

/// This binary's facts (computed once).
const HostInfo& host_info();

}  // namespace anvil::core
