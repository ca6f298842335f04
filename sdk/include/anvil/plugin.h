#pragma once
/// @file plugin.h
/// The two entry points of a plugin library and the macro that defines them.
///
/// A plugin library exports exactly two symbols:
///  1. `anvil_plugin_info_v1`, a plain-C function returning an anvil_plugin_info record. The
///     host reads it before any C++ object crosses the boundary and refuses the library when
///     the SDK ABI, SDK major/minor, LibTorch major.minor, C++ standard library ABI or toml++
///     major/exceptions mode differ from its own.
///  2. `anvil_plugin_register`, a Boost.DLL alias of `void(anvil::Registry&)`, called only when
///     the check passed. It registers components and does nothing else.
///
/// Write once in a plugin's .cpp:
/// @code
///   static void register_components(anvil::Registry& registry) {
///     registry.add<anvil::Loss>("focal", "Focal loss", schema, make_focal);
///   }
///   ANVIL_PLUGIN("loss-focal", "1.0.0", "Focal loss for imbalanced targets", "MIT",
///                register_components)
/// @endcode

#include <anvil/export.h>
#include <anvil/registry.h>
#include <anvil/version.h>

#include <boost/dll/alias.hpp>
#include <torch/version.h>
#include <toml++/toml.h>

#include <cstdint>

extern "C" {

/// Identity and build facts of a plugin library. Plain C, append-only: fields are only ever
/// added at the end, and `struct_size` tells the host which ones a plugin has.
typedef struct anvil_plugin_info {
  std::uint32_t struct_size;      ///< sizeof(anvil_plugin_info) when the plugin was built
  std::uint32_t abi_version;      ///< ANVIL_PLUGIN_ABI_VERSION; must equal the host's
  std::uint32_t sdk_major;        ///< must equal the host's
  std::uint32_t sdk_minor;        ///< must be <= the host's
  std::uint32_t torch_major;      ///< LibTorch the plugin was built against; must equal
  std::uint32_t torch_minor;      ///< the host's major.minor
  std::uint32_t cxx11_abi;        ///< _GLIBCXX_USE_CXX11_ABI (0 on other standard libraries)
  std::uint32_t toml_major;       ///< TOML_LIB_MAJOR; must equal the host's
  std::uint32_t toml_exceptions;  ///< TOML_EXCEPTIONS; must equal the host's
  const char* compiler;           ///< e.g. "GCC 12.2.0" (informational)
  const char* name;               ///< library name, e.g. "optimizer-sgd"
  const char* version;            ///< the plugin's own version
  const char* description;        ///< one line
  const char* license;            ///< SPDX identifier
} anvil_plugin_info;

/// Signature of the info entry point.
typedef const anvil_plugin_info* (*anvil_plugin_info_fn)(void);
}

namespace anvil {
/// Signature of the registration entry point.
using PluginRegisterFn = void(Registry&);
/// Name of the info entry point.
inline constexpr const char* kPluginInfoSymbol = "anvil_plugin_info_v1";
/// Name of the registration alias.
inline constexpr const char* kPluginRegisterSymbol = "anvil_plugin_register";
}  // namespace anvil

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define ANVIL_DETAIL_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define ANVIL_DETAIL_CXX11_ABI 0
#endif

#define ANVIL_DETAIL_STR2(x) #x
#define ANVIL_DETAIL_STR(x) ANVIL_DETAIL_STR2(x)
#if defined(__clang__)
#define ANVIL_DETAIL_COMPILER \
  "Clang " ANVIL_DETAIL_STR(__clang_major__) "." ANVIL_DETAIL_STR(__clang_minor__) "." ANVIL_DETAIL_STR(__clang_patchlevel__)
#elif defined(__GNUC__)
#define ANVIL_DETAIL_COMPILER \
  "GCC " ANVIL_DETAIL_STR(__GNUC__) "." ANVIL_DETAIL_STR(__GNUC_MINOR__) "." ANVIL_DETAIL_STR(__GNUC_PATCHLEVEL__)
#else
#define ANVIL_DETAIL_COMPILER "unknown compiler"
#endif

/// The info record of a library built with the headers in use, as a braced initializer.
#define ANVIL_PLUGIN_INFO_INIT(NAME, VERSION, DESCRIPTION, LICENSE)                            \
  {                                                                                           \
    static_cast<std::uint32_t>(sizeof(anvil_plugin_info)), ANVIL_PLUGIN_ABI_VERSION,           \
        ANVIL_VERSION_MAJOR, ANVIL_VERSION_MINOR, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,   \
        ANVIL_DETAIL_CXX11_ABI, TOML_LIB_MAJOR, TOML_EXCEPTIONS, ANVIL_DETAIL_COMPILER, NAME, \
        VERSION, DESCRIPTION, LICENSE                                                         \
  }

/// Defines both entry points of a plugin library. REGISTER_FN is a function
/// `void(anvil::Registry&)`. Use exactly once per library.
#define ANVIL_PLUGIN(NAME, VERSION, DESCRIPTION, LICENSE, REGISTER_FN)                 \
  extern "C" ANVIL_PLUGIN_EXPORT const anvil_plugin_info* anvil_plugin_info_v1() {     \
    static const anvil_plugin_info info = ANVIL_PLUGIN_INFO_INIT(NAME, VERSION, DESCRIPTION, LICENSE); \
    return &info;                                                                     \
  }                                                                                   \
  BOOST_DLL_ALIAS(REGISTER_FN, anvil_plugin_register)
