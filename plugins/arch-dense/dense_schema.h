#pragma once
/// @file dense_schema.h
/// The manifest keys of the dense decoder: their schema and the reading of their values. The
/// MoE and hybrid architectures reuse them for their attention, widths and leading layers.

#include "dense_options.h"

#include <anvil/context.h>
#include <anvil/options.h>

#include <vector>

namespace anvil::builtin {

/// Adds every DenseOptions key (d_model, n_layers, ..., activation_checkpointing) to `schema`
/// with the defaults of `defaults`.
void add_dense_schema(OptionSchema& schema, const DenseOptions& defaults = {});

/// Adds the attention choice and the multi-head latent attention keys (attention, q_lora_rank,
/// kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim) to `schema`.
void add_latent_attention_schema(OptionSchema& schema, const DenseOptions& defaults = {});

/// Reads the keys of add_latent_attention_schema into `o`.
void read_latent_attention_options(const Options& options, DenseOptions& o);

/// The DenseOptions of a manifest table declared by add_dense_schema; vocab_size comes from
/// `context` (0 when not known yet).
DenseOptions read_dense_options(const Options& options, const RunContext& context);

/// Reports each of `problems` at its manifest key, except vocab_size, which is not a key (the
/// model's factory explains what to do when it is unknown).
void report_problems(const Options& options, const std::vector<DenseOptionProblem>& problems);

}  // namespace anvil::builtin
