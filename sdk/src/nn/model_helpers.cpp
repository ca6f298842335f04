// The tensor helpers declared with the Model interface (<anvil/model.h>); they run LibTorch
// code, so they live in libanvil_nn, not in the torch-free contract library.
#include <anvil/errors.h>
#include <anvil/model.h>

namespace anvil {

std::int64_t parameter_count(Model& model) {
  std::int64_t total = 0;
  for (const auto& p : model.module().parameters()) total += p.numel();
  return total;
}

void check_decode_tokens(const std::string& model, const at::Tensor& tokens, std::int64_t batch,
                         std::int64_t cache_length, std::int64_t max_len) {
  ANVIL_CHECK(tokens.dim() == 2, model, ": tokens must be [B, t], got ", tokens.sizes());
  ANVIL_CHECK(tokens.scalar_type() == at::kLong, model, ": tokens must be int64, got ",
              tokens.scalar_type());
  ANVIL_CHECK(tokens.size(0) == batch, model, ": tokens have batch ", tokens.size(0),
              " but the cache was made for ", batch);
  ANVIL_CHECK(cache_length + tokens.size(1) <= max_len, model, ": decoding ", tokens.size(1),
              " tokens after ", cache_length, " exceeds the cache's max_len ", max_len);
}

}  // namespace anvil
