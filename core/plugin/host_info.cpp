#include "plugin/host_info.h"

// plugin.h defines ANVIL_DETAIL_CXX11_ABI and ANVIL_DETAIL_COMPILER and includes the version
// headers of the SDK, LibTorch and toml++: using them here is what makes the host's facts
// comparable with a plugin's info record.
#include <anvil/plugin.h>

namespace anvil::core {

namespace {
HostInfo make_host_info() {
  HostInfo info;
  info.abi_version = ANVIL_PLUGIN_ABI_VERSION;
  info.sdk_major = ANVIL_VERSION_MAJOR;
  info.sdk_minor = ANVIL_VERSION_MINOR;
  info.oldest_sdk_minor = ANVIL_VERSION_OLDEST_MINOR;
  info.sdk_version = ANVIL_VERSION_STRING;
  info.torch_major = TORCH_VERSION_MAJOR;
  info.torch_minor = TORCH_VERSION_MINOR;
  info.torch_version = TORCH_VERSION;
  info.cxx11_abi = ANVIL_DETAIL_CXX11_ABI;
  info.toml_major = TOML_LIB_MAJOR;
  info.toml_exceptions = TOML_EXCEPTIONS;
  info.toml_version = ANVIL_DETAIL_STR(TOML_LIB_MAJOR) "." ANVIL_DETAIL_STR(
      TOML_LIB_MINOR) "." ANVIL_DETAIL_STR(TOML_LIB_PATCH);
  info.compiler = ANVIL_DETAIL_COMPILER;
  return info;
}
}  // namespace

const HostInfo& host_info() {
  static const HostInfo info = make_host_info();
  return info;
}

}  // namespace anvil::core
