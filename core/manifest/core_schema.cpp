// The core's own manifest sections and their options. These declarations are the reference
// for [run], [plugins], [training] and [data]: validation, defaults and generated docs all come
// from here, as they do from a plugin's schema for its section.

#include "manifest/validate.h"

#include "manifest/core_sections.h"

#include "data/data_options.h"

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
  s.add("decay_fraction", 0.2,
        "wsd only: share of the steps after warm-up spent decaying to min_lr_ratio.")
      .range(0, 1);
  s.add("min_lr_ratio", 0.1,
        "Final learning rate of a decaying schedule, as a fraction of the optimizer's lr.")
      .range(0, 1);
  s.add("grad_clip", 1.0, "Maximum global gradient norm; 0 disables clipping.").min(0);
  s.add("precision", "auto",
        "Compute precision of forward and backward: fp32, bf16 or fp16 (autocast, with fp32 "
        "master weights; fp16 adds dynamic loss scaling), or auto: bf16 where the device "
        "multiplies bf16 fast (a GPU, or a CPU with AMX or AVX512-BF16), else fp32.")
      .one_of({"auto", "fp32", "bf16", "fp16"});
  s.add("global_batch_tokens", std::int64_t{0},
        "Tokens per optimizer step over all ranks; when set, grad_accum_steps is derived from "
        "it (it must be a multiple of micro_batch_size * seq_len * ranks). 0 = use "
        "grad_accum_steps.")
      .min(0);
  s.add("eval_every", 0,
        "Steps between evaluations with the [[eval]] evaluators; 0 evaluates "
        "only at the end.")
      .min(0);
  s.add("deterministic", false,
        "Use deterministic kernels only, so a run repeats bit for bit (slower on GPUs).");
  s.add("nonfinite", "skip",
        "What a step whose loss or gradient is NaN or infinite does: skip (no update; the run "
        "stops after max_skipped_steps such steps in a row) or stop (at once, naming the step).")
      .one_of({"skip", "stop"});
  s.add("max_skipped_steps", 10, "Non-finite steps in a row after which a skipping run stops.")
      .min(1);
  s.add("no_decay", std::vector<std::string>{"embed"},
        "Parameters exempt from weight decay besides those with fewer than 2 dimensions (norm "
        "scales, biases): any whose name contains one of these strings.");
  return s;
}

OptionSchema data_schema() {
  OptionSchema s;
  s.add("train", std::vector<std::string>{},
        "Training inputs: files, folders (read recursively) or glob patterns (*, ?, **); plain "
        "text or JSON lines, optionally gzip- or zstd-compressed. A relative path is relative "
        "to the file that sets it.");
  s.add("valid", std::vector<std::string>{},
        "Validation inputs, like train; when empty, valid_fraction of the training documents "
        "is held out instead.");
  s.add("dataset", "",
        "Folder of the prepared dataset (token shards); empty means <out_dir>/<name>/data.");
  s.add("tokenizer", "",
        "Folder of a trained tokenizer (from anvil tokenizer train); empty means [tokenizer] is "
        "trained on the cleaned training documents.");
  s.add("format", "auto",
        "Input format: auto (by extension: .jsonl, .ndjson and .json are JSON lines), text or "
        "jsonl.")
      .one_of({"auto", "text", "jsonl"});
  s.add("text_field", "text",
        "Field holding the document text in JSON-lines files; a dotted name walks into nested "
        "objects (meta.text).");
  s.add("on_bad_record", "error",
        "A JSON line that is not JSON, not an object, or whose text field is missing or not a "
        "string: error (stop, naming it and counting the bad lines after it in that file) or "
        "skip (counted by kind in the summary and dataset.json, the first few listed with "
        "file:line).")
      .one_of({"error", "skip"});
  s.add("document", "paragraph",
        "How a text file is cut into documents: file (the whole file), paragraph (separated by "
        "blank lines) or line.")
      .one_of({"file", "paragraph", "line"});
  s.add("valid_fraction", 0.01,
        "Fraction of training documents held out for validation (chosen by content hash, so "
        "stable across runs) when valid lists no files.")
      .range(0, 0.5);
  s.add("shard_tokens", std::int64_t{100'000'000},
        "Tokens per shard file (a document never spans two shards).")
      .min(1);
  s.add("eos_token", "",
        "Special token appended after every document (the tokenizer must have it); empty means "
        "[tokenizer] eos_token (or the one recorded in the [data] tokenizer folder), else "
        "\"<|endoftext|>\". It is the only special token in the shards: a document's own text is "
        "encoded with special-token text as ordinary text.");
  s.add("workers", 0, "Threads for cleaning, hashing and tokenizing; 0 uses all cores.").min(0);
  s.add("clean", OptionType::table, "Stage 1 options: see [data.clean].");
  s.add("dedup", OptionType::table, "Stage 2 options: see [data.dedup].");
  return s;
}

}  // namespace

const std::vector<std::pair<std::string, OptionSchema>>& core_sections() {
  static const std::vector<std::pair<std::string, OptionSchema>> sections = {
      {"run", run_schema()},
      {"plugins", plugins_schema()},
      {"training", training_schema()},
      {"data", data_schema()},
      {"data.clean", clean_binding().schema()},  // declared with their structs (data/data_options.h)
      {"data.dedup", dedup_binding().schema()},
      {"sample", sample_binding().schema()},  // declared with their structs (core_sections.h)
      {"checkpoint", checkpoint_binding().schema()},
  };
  return sections;
}

}  // namespace anvil::core
