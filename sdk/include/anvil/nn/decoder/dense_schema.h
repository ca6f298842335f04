#pragma once
/// @file dense_schema.h
/// The manifest keys of the dense decoder: their schema and the reading of their values. The
/// MoE and hybrid architectures reuse them for their attention, widths and leading layers.

#include <anvil/nn/decoder/dense_options.h>

#include <anvil/context.h>
#include <anvil/option_binding.h>
#include <anvil/options.h>

#include <vector>

namespace anvil::nn {

/// Every DenseOptions key (d_model, n_layers, ..., activation_checkpointing), each declared once
/// and bound to its member, with the defaults of `defaults`; with `latent_attention`, also the
/// attention choice and the multi-head latent attention keys (attention, q_lora_rank,
/// kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim).
OptionBinding<DenseOptions> dense_binding(const DenseOptions& defaults = {}, bool latent_attention = true);

/// The DenseOptions `binding` reads from a manifest table, with vocab_size from `context` (0
/// when not known yet).
DenseOptions read_dense_options(const OptionBinding<DenseOptions>& binding, const Options& options,
                                const RunContext& context);

/// Reports each of `problems` at its manifest key, except vocab_size, which is not a key (the
/// model's factory explains what to do when it is unknown).
void report_problems(const Options& options, const std::vector<DenseOptionProblem>& problems);

}  // namespace anvil::nn
