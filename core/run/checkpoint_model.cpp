#include "run/checkpoint_model.h"

#include "checkpoint/checkpoint_io.h"
#include "train/train_checkpoint.h"
#include "run/open_run.h"

#include <spdlog/spdlog.h>

namespace fs = std::filesystem;

namespace anvil::core {

CheckpointModel load_checkpoint_model(const std::vector<std::string>& plugin_paths, const fs::path& path,
                                      c10::Device device) {
  CheckpointModel loaded;
  loaded.dir = resolve_checkpoint(path, [](const std::string& message) { spdlog::warn("{}", message); });
  loaded.step = read_checkpoint_state(loaded.dir / kStateFile).step;
  OpenRun opened = open_run(loaded.dir / kManifestFile, {}, plugin_paths);
  const Manifest& manifest = opened.manifest;
  const std::vector<ComponentSection>& sections = opened.sections;
  Run& run = loaded.run;
  run.host = std::move(opened.host);
  loaded.config = read_train_config(manifest);
  open_tokenizer_folder(run, loaded.dir / kCheckpointTokenizerDir);

  RunContext context;
  context.device = device;
  context.seed = loaded.config.seed;
  context.vocab_size = run.tokenizer->vocab_size();
  run.model = create<Model>(run, architecture_section(sections), context);
  run.identities.model = identity_of(*run.host, architecture_section(sections));
  run.model->module().to(device);
  load_model_state(*run.model, read_safetensors(loaded.dir / kModelFile).tensors, loaded.dir / kModelFile);
  run.model->module().eval();
  return loaded;
}

}  // namespace anvil::core
