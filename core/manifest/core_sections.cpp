#include "manifest/core_sections.h"

namespace anvil::core {

const OptionBinding<SampleConfig>& sample_binding() {
  static const OptionBinding<SampleConfig> binding = [] {
    OptionBinding<SampleConfig> b;
    b.bind("prompt", &SampleConfig::prompt,
           "Text the trained model continues at the end of `anvil train` (empty: no sample).");
    b.bind("max_new_tokens", &SampleConfig::max_new_tokens, "Tokens generated after the prompt.").min(1);
    b.bind("temperature", &SampleConfig::temperature,
           "Softmax temperature; 0 picks the most likely token (greedy).")
        .min(0);
    b.bind("top_k", &SampleConfig::top_k, "Sample among the k most likely tokens; 0 = all.").min(0);
    b.bind("top_p", &SampleConfig::top_p,
           "Sample among the fewest most likely tokens whose probabilities sum to at least this; 1 = "
           "all.")
        .range(0, 1);
    b.bind("repetition_penalty", &SampleConfig::repetition_penalty,
           "Divides the (positive) logits of tokens already in the text by this; 1 = off, 1.1-1.3 "
           "discourages loops.")
        .range(0.01, 100);
    b.bind("stop", &SampleConfig::stop, "Generation ends before the first of these strings.");
    b.bind("seed", &SampleConfig::seed, "Seed of the sampler; 0 uses the run's seed.");
    return b;
  }();
  return binding;
}

const OptionBinding<CheckpointConfig>& checkpoint_binding() {
  static const OptionBinding<CheckpointConfig> binding = [] {
    OptionBinding<CheckpointConfig> b;
    b.bind("every_steps", &CheckpointConfig::every_steps,
           "Save a checkpoint every this many steps; 0: not by step count.")
        .min(0);
    b.bind("every_minutes", &CheckpointConfig::every_minutes,
           "Save a checkpoint when this many minutes of training passed since the last one; 0: "
           "not by time.")
        .min(0);
    b.bind("at_end", &CheckpointConfig::at_end, "Save a checkpoint when training finishes.");
    b.bind("keep_last", &CheckpointConfig::keep_last, "Checkpoints to keep, newest first; 0 keeps all.")
        .min(0);
    b.bind("keep_every", &CheckpointConfig::keep_every,
           "Also keep every checkpoint whose step is a multiple of this, whatever keep_last says; 0: "
           "none.")
        .min(0);
    b.bind("async", &CheckpointConfig::async,
           "Write checkpoints on a background thread from a copy of the state, so that training "
           "does not wait for the disk (costs one copy of the weights and optimizer state in "
           "memory).");
    b.bind_choice("resume", &CheckpointConfig::resume_auto, {{"auto", true}, {"never", false}},
                  "auto: continue from the newest valid checkpoint of the run folder when it has one; "
                  "never: start over (refused when the run folder has checkpoints; see anvil train "
                  "--restart).");
    return b;
  }();
  return binding;
}

}  // namespace anvil::core
