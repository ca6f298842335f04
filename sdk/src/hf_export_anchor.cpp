// The out-of-line destructor anchors HuggingFaceExportable's vtable and RTTI in libanvil_sdk,
// so the host's dynamic_cast recognises a model made by a plugin library.
#include <anvil/hf_export.h>

namespace anvil {

HuggingFaceExportable::~HuggingFaceExportable() = default;

}  // namespace anvil
