// The core's own manifest sections and their options. These declarations are the reference
// for [run], [plugins], [training] and [data]: validation, defaults and generated docs all come
// from here, as they do from a plugin's schema for its section.

#include "manifest/validate.h"

namespace anvil::core {
namespace {

OptionSchema run_schema() {
  OptionSchema s;
  s.add("name", "run", "Name of the run, used in logs, metrics and the output folder.");
  s.add("out_dir", "runs",
        "Folder the run writes into (checkpoints, metrics, the resolved manifest); a relative "
        "path is relative to the file that sets it, or to the current directory.");
  s.add("seed", 1234,
        "Seed of every random number generator (initialisation, data order, "
        "dropout), so a run can be repeated.")
      .min(0);
  s.add("device", "auto",
        "Where to compute: auto (a GPU when there is one, else the CPU), cpu, cuda, or cuda:N "
        "for GPU N.");
  s.add("threads", 0, "CPU threads for intra-op parallelism; 0 uses all cores.").min(0);
  s.add("log_every", 10, "Steps between progress lines and metric records.").min(1);
  return s;
}

OptionSchema plugins_schema() {
  OptionSchema s;
  s.add("paths", std::vector<std::string>{},
        "Extra folders or plugin libraries to load, searched before ANVIL_PLUGIN_PATH and the "
        "installed plugin folder; a relative path is relative to the file that sets it.");
  return s;
}

OptionSchema training_schema() {
  OptionSchema s;
  s.add("steps", 1000, "Optimizer steps to train for.").min(1);
  s.add("seq_len", 256, "Tokens per training sequence (the context length).").min(1);
  s.add("micro_batch_size", 8, "Sequences per forward/backward pass on each rank.").min(1);
  s.add("grad_accum_steps", 1,
        "Micro-batches whose gradients are summed before each optimizer step.")
      .min(1);
  s.add("schedule", "cosine",
        "Learning-rate schedule after warm-up: constant, linear (decay to min_lr_ratio), cosine, "
        "or wsd (warm-up, stable, then decay).")
      .one_of({"constant", "linear", "cosine", "wsd"});
  s.add("warmup_steps", 0, "Steps over which the learning rate rises linearly from 0.").min(0);
  s.add("min_lr_ratio", 0.1,
        "Final learning rate of a decaying schedule, as a fraction of the optimizer's lr.")
      .range(0, 1);
  s.add("grad_clip", 1.0, "Maximum global gradient norm; 0 disables clipping.").min(0);
  s.add("precision", "fp32",
        "Compute precision of forward and backward: fp32, bf16 or fp16 (mixed, with fp32 "
        "master weights).")
      .one_of({"fp32", "bf16", "fp16"});
  s.add("eval_every", 0,
        "Steps between evaluations with the [[eval]] evaluators; 0 evaluates "
        "only at the end.")
      .min(0);
  s.add("deterministic", false,
        "Use deterministic kernels only, so a run repeats bit for bit (slower on GPUs).");
  return s;
}

OptionSchema data_schema() {
  OptionSchema s;
  s.add("train", std::vector<std::string>{},
        "Training text files (plain text or JSON lines); a relative path is relative to the "
        "file that sets it.");
  s.add("valid", std::vector<std::string>{},
        "Validation text files, read by the evaluators and for the validation loss.");
  s.add("text_field", "text", "Field holding the document text in JSON-lines files.");
  return s;
}

}  // namespace

const std::vector<std::pair<std::string, OptionSchema>>& core_sections() {
  static const std::vector<std::pair<std::string, OptionSchema>> sections = {
      {"run", run_schema()},
      {"plugins", plugins_schema()},
      {"training", training_schema()},
      {"data", data_schema()},
  };
  return sections;
}

}  // namespace anvil::core
