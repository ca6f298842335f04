// Out-of-line destructors anchor the vtable and RTTI of the optional interfaces in
// libanvil_sdk, so the host's dynamic_cast recognises them on objects a plugin library made.
// None of them needs LibTorch's code, only its types' names.
#include <anvil/hf_export.h>
#include <anvil/model.h>

namespace anvil {

KVCache::~KVCache() = default;
StepObserver::~StepObserver() = default;
HuggingFaceExportable::~HuggingFaceExportable() = default;

}  // namespace anvil
