#pragma once
/// @file none_offload.h
/// The "none" offload: tensors stay where they are. store() keeps a reference to the tensor it
/// is given (no copy), fetch() returns it, moved with .to(device) only when it lives elsewhere,
/// and prefetch/release have nothing to do. It is the baseline the cpu and nvme backends are
/// measured against, and what the trainer uses when no offload is configured.

#include <anvil/offload.h>

#include <map>
#include <string>

namespace anvil::builtin {

class NoneOffload final : public Offload {
 public:
  /// Keeps `value` itself as the home copy: later in-place changes to it are visible to fetch().
  void store(const std::string& key, const at::Tensor& value) override;
  /// The stored tensor if it is on `device` (an alias), else a copy on `device`.
  at::Tensor fetch(const std::string& key, c10::Device device) override;
  /// Nothing to start; checks only that `key` exists.
  void prefetch(const std::string& key, c10::Device device) override;
  /// No working copies exist; checks only that `key` exists.
  void release(const std::string& key) override;
  void erase(const std::string& key) override;
  /// Sum of nbytes() of the stored tensors (shared storage is counted once per key).
  std::int64_t stored_bytes() const override;

  /// Number of keys stored.
  std::size_t size() const noexcept { return tensors_.size(); }

 private:
  /// The entry of `key`; throws anvil::Error naming the key when there is none.
  const at::Tensor& find(const std::string& key, const char* operation) const;

  std::map<std::string, at::Tensor> tensors_;  // ordered, so iteration is deterministic
};

}  // namespace anvil::builtin
