#pragma once
/// @file export.h
/// Symbol visibility macros. Plugins build with -fvisibility=hidden; the SDK's types and the
/// two plugin entry points are the only symbols that cross a library boundary.

#if defined(_WIN32)
#error "Anvil supports ELF platforms (Linux) only"
#endif

/// Marks an SDK class or function as exported from libanvil_sdk (and visible for RTTI and
/// exceptions across plugin boundaries).
#define ANVIL_SDK_API __attribute__((visibility("default")))

/// Marks a plugin entry point as exported from the plugin library.
#define ANVIL_PLUGIN_EXPORT __attribute__((visibility("default")))
