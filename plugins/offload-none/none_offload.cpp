// The "none" offload (see none_offload.h).
#include "none_offload.h"

#include <anvil/errors.h>

namespace anvil::builtin {

const at::Tensor& NoneOffload::find(const std::string& key, const char* operation) const {
  const auto it = tensors_.find(key);
  if (it == tensors_.end())
    throw Error(std::string("offload 'none': ") + operation + " of unknown key '" + key + "'",
                "store() a tensor under this key first");
  return it->second;
}

void NoneOffload::store(const std::string& key, const at::Tensor& value) {
  ANVIL_CHECK(value.defined(), "offload 'none': store of an undefined tensor under '", key, "'");
  tensors_[key] = value;
}

at::Tensor NoneOffload::fetch(const std::string& key, c10::Device device) {
  // Tensor::to returns the tensor itself when it already lives on `device`.
  return find(key, "fetch").to(device);
}

void NoneOffload::prefetch(const std::string& key, c10::Device) { find(key, "prefetch"); }

void NoneOffload::release(const std::string& key) { find(key, "release"); }

void NoneOffload::erase(const std::string& key) {
  find(key, "erase");
  tensors_.erase(key);
}

std::int64_t NoneOffload::stored_bytes() const {
  std::int64_t total = 0;
  for (const auto& [key, tensor] : tensors_) total += static_cast<std::int64_t>(tensor.nbytes());
  return total;
}

}  // namespace anvil::builtin
