#pragma once
/// @file dense_options.h
/// Hyper-parameters of the dense decoder (the "dense" architecture, and the trunk of "moe" and
/// "hybrid"), the checks of their consistency, and the quantities derived from them (head
/// width, SwiGLU width, FLOPs per token). Free of torch headers so that a plugin's
/// registration and the checks compile quickly.

#include <cstdint>
#include <string>
#include <vector>

namespace anvil::nn {

/// Sliding-window local attention and the global attention that lets distant tokens be seen:
/// what the "hybrid" architecture adds to the dense decoder. All 0 (the default) is full
/// attention in every layer.
struct LocalAttention {
  std::int64_t window = 0;        ///< sliding-window width of local attention; 0 = full attention
  std::int64_t global_every = 0;  ///< with a window: every global_every-th layer attends fully
  std::int64_t global_heads = 0;  ///< with a window: heads of a full-attention branch in each
                                  ///< local layer, summed with the local heads' output

  /// Whether any layer attends over a window.
  bool enabled() const noexcept { return window > 0; }
  /// Whether layer `i` (0-based) attends over the sliding window (else over all positions).
  bool is_local_layer(std::int64_t i) const noexcept {
    return window > 0 && !(global_every > 0 && (i + 1) % global_every == 0);
  }
  /// Whether layer `i` has a full-attention branch next to its local heads.
  bool has_global_branch(std::int64_t i) const noexcept { return global_heads > 0 && is_local_layer(i); }
};

/// Hyper-parameters of the Llama-style decoder. The defaults are the "dense" schema's.
struct DenseOptions {
  std::int64_t vocab_size = 0;        ///< V: rows of the embedding, width of the logits
  std::int64_t d_model = 256;         ///< D: width of the residual stream
  std::int64_t n_layers = 4;          ///< number of blocks
  std::int64_t n_heads = 4;           ///< query heads; must divide d_model
  std::int64_t n_kv_heads = 0;        ///< key/value heads (grouped-query); 0 means n_heads
  std::int64_t ffn_hidden = 0;        ///< SwiGLU width; 0 derives it from ffn_multiplier
  double ffn_multiplier = 8.0 / 3.0;  ///< SwiGLU width = multiplier * d_model, rounded up ...
  std::int64_t ffn_multiple_of = 64;  ///< ... to a multiple of this
  std::int64_t max_seq_len = 1024;    ///< longest sequence forward() and caches accept
  double rope_base = 10000.0;         ///< base of the rotary frequencies
  double norm_eps = 1e-5;             ///< epsilon inside every RMSNorm
  bool tie_embeddings = true;         ///< output head shares the embedding's weight
  double dropout = 0.0;               ///< on the embeddings and each branch before its residual add
  double init_std = 0.02;             ///< std of the normal initialisation of every matrix
  bool activation_checkpointing = false;  ///< recompute each block's activations in backward
  /// "gqa" (grouped-query attention) or "mla" (multi-head latent attention, DeepSeek-V2).
  std::string attention = "gqa";
  std::int64_t q_lora_rank = 0;       ///< MLA: query compression width (0 = none)
  std::int64_t kv_lora_rank = 128;    ///< MLA: width of the cached key/value latent
  std::int64_t qk_nope_head_dim = 0;  ///< MLA: per-head query/key width without positions (0 = head_dim)
  std::int64_t qk_rope_head_dim = 0;  ///< MLA: per-head rotary width (0 = head_dim / 2)
  std::int64_t v_head_dim = 0;        ///< MLA: per-head value width (0 = head_dim)
  std::int64_t mtp_depth = 0;     ///< multi-token prediction modules (0 = none)
  double mtp_weight = 0.3;        ///< lambda: weight of their mean loss
  /// Local/global attention layout; the "hybrid" architecture's keys, empty for "dense" and
  /// "moe" (which bind none of them).
  LocalAttention local;

  /// The architecture these options are registered as, for messages: "hybrid" with a window,
  /// else "dense".
  const char* architecture() const noexcept { return local.enabled() ? "hybrid" : "dense"; }
  /// Key/value heads with 0 resolved to n_heads.
  std::int64_t kv_heads() const noexcept { return n_kv_heads == 0 ? n_heads : n_kv_heads; }
  /// Width of one head: d_model / n_heads.
  std::int64_t head_dim() const noexcept { return d_model / n_heads; }
  /// Whether the attention is multi-head latent attention.
  bool uses_mla() const noexcept { return attention == "mla"; }
  /// Width the rotary tables are made for: head_dim, or MLA's decoupled rotary width.
  std::int64_t rope_dim() const noexcept {
    return !uses_mla() ? head_dim() : qk_rope_head_dim > 0 ? qk_rope_head_dim : head_dim() / 2;
  }
  /// MLA's per-head query/key width without positions, 0 resolved.
  std::int64_t nope_dim() const noexcept { return qk_nope_head_dim > 0 ? qk_nope_head_dim : head_dim(); }
  /// MLA's per-head value width, 0 resolved.
  std::int64_t value_dim() const noexcept { return v_head_dim > 0 ? v_head_dim : head_dim(); }
  /// SwiGLU hidden width: ffn_hidden if set, else ffn_multiplier * d_model rounded up to a
  /// multiple of ffn_multiple_of (8/3 keeps the three SwiGLU matrices at the parameter count
  /// of a 4x GELU MLP, as in Llama).
  std::int64_t ffn_width() const noexcept;
};

/// One inconsistent option: its manifest key and what is wrong with it.
struct DenseOptionProblem {
  std::string key;      ///< e.g. "n_kv_heads"
  std::string message;  ///< e.g. "must divide n_heads (4), got 3"
};

/// Every problem with `options`: values out of range and relations that do not hold (heads
/// dividing d_model, key/value heads dividing heads, an even head width for the rotary pairs).
/// Empty when the options describe a valid model.
std::vector<DenseOptionProblem> dense_option_problems(const DenseOptions& options);

/// Throws anvil::Error listing every problem of dense_option_problems, if there is one.
void check_dense_options(const DenseOptions& options);

/// Throws anvil::Error "<architecture>: invalid options:" followed by one line per problem,
/// if there is one.
void throw_option_problems(const std::string& architecture,
                           const std::vector<DenseOptionProblem>& problems);

/// Parameters that enter a matmul once per token: every block's attention (wq, wk, wv, wo) and
/// MLP (w1, w2, w3) matrices plus the output head (counted whether or not it is tied, since the
/// head's matmul runs either way), the global branches' (wq, wk, wv, wo) of hybrid local
/// layers, and per multi-token prediction module its projection, block and another pass of
/// the head. The embedding lookup and the norms' gains are not counted.
std::int64_t dense_matmul_parameters(const DenseOptions& options);

/// Matmul parameters of one layer's (main) attention: wq, wk, wv, wo for grouped-query
/// attention; the down and up projections and wo for latent attention.
std::int64_t attention_matmul_parameters(const DenseOptions& options);

/// Training FLOPs per token of one layer's attention scores and weighted values over `keys`
/// keys (forward + backward, not halved for the causal mask): 12 * d_model * keys for
/// grouped-query attention, 6 * n_heads * (nope + rope + value widths) * keys for MLA.
double attention_score_flops(const DenseOptions& options, std::int64_t keys);

/// The multi-token prediction modules' share of dense_matmul_parameters: per module
/// proj (2D x D), one block's attention and MLP, and the head again.
std::int64_t mtp_matmul_parameters(const DenseOptions& options);

/// Training FLOPs per token at sequence length `seq_len` (forward + backward):
/// 6 * dense_matmul_parameters + 12 * n_layers * d_model * seq_len; a local layer counts
/// min(window, seq_len) keys instead of seq_len, a global branch adds
/// 12 * global_heads * head_dim * seq_len, and each multi-token prediction block counts as a
/// layer. The second term is the
/// attention scores (Q K^T) and the weighted sum of values, 2 * 2 * d_model * seq_len per
/// layer forward, times 3 for forward + backward; it is not halved for the causal mask (the
/// PaLM / nanoGPT convention), so MFU is comparable with figures computed the same way.
double dense_flops_per_token(const DenseOptions& options, std::int64_t seq_len);

}  // namespace anvil::nn
