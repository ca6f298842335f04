#pragma once
/// @file offload.h
/// Interface of offload components (kind "offload"): where optimizer state (and, for ZeRO-3,
/// parameters) live between uses.

#include <anvil/component.h>
#include <anvil/export.h>
#include <anvil/tensor_types.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace anvil {

/// A keyed store of tensors with a "home" (device, host memory, disk) and a working device.
class ANVIL_SDK_API Offload : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::offload;

  /// Stores (or replaces) the home copy of `key` with `value`'s contents.
  virtual void store(const std::string& key, const at::Tensor& value) = 0;
  /// Returns `key` materialised on `device`. In-place changes to the result are kept only after
  /// store() is called with it (backends that keep the home copy on `device` may alias it).
  /// Throws anvil::Error for an unknown key.
  virtual at::Tensor fetch(const std::string& key, c10::Device device) = 0;
  /// Hints that fetch(key, device) follows soon; backends may start the copy now.
  virtual void prefetch(const std::string& key, c10::Device device) = 0;
  /// Drops any working copy of `key` (the home copy stays).
  virtual void release(const std::string& key) = 0;
  /// Forgets `key` entirely.
  virtual void erase(const std::string& key) = 0;
  /// Bytes held in the backend's home storage.
  virtual std::int64_t stored_bytes() const = 0;
};

}  // namespace anvil
