#include <anvil/model.h>

namespace anvil {

KVCache::~KVCache() = default;

std::int64_t parameter_count(Model& model) {
  std::int64_t total = 0;
  for (const auto& p : model.module().parameters()) total += p.numel();
  return total;
}

}  // namespace anvil
