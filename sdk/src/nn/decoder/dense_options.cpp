// Checks and derived quantities of the dense architecture's options (see dense_options.h).
#include <anvil/nn/decoder/dense_options.h>

#include <anvil/errors.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace anvil::nn {

std::int64_t DenseOptions::ffn_width() const noexcept {
  if (ffn_hidden > 0) return ffn_hidden;
  const auto multiple = static_cast<double>(ffn_multiple_of);
  return ffn_multiple_of * static_cast<std::int64_t>(
                               std::ceil(ffn_multiplier * static_cast<double>(d_model) / multiple));
}

namespace {

// Collects problems as "key: message" pairs, streaming the message's parts.
class ProblemList {
 public:
  template <class... Parts>
  void add(const char* key, const Parts&... parts) {
    std::ostringstream message;
    (message << ... << parts);
    problems_.push_back({key, message.str()});
  }
  std::vector<DenseOptionProblem> take() { return std::move(problems_); }

 private:
  std::vector<DenseOptionProblem> problems_;
};

}  // namespace

std::vector<DenseOptionProblem> dense_option_problems(const DenseOptions& o) {
  ProblemList problems;
  if (o.vocab_size <= 0) problems.add("vocab_size", "must be positive, got ", o.vocab_size);
  if (o.d_model <= 0) problems.add("d_model", "must be positive, got ", o.d_model);
  if (o.n_layers <= 0) problems.add("n_layers", "must be positive, got ", o.n_layers);
  if (o.n_heads <= 0) {
    problems.add("n_heads", "must be positive, got ", o.n_heads);
  } else if (o.d_model > 0) {
    if (o.d_model % o.n_heads != 0)
      problems.add("n_heads", "must divide d_model (", o.d_model, "), got ", o.n_heads);
    else if (o.head_dim() % 2 != 0)
      // Rotary embeddings rotate pairs of features, so a head needs an even width.
      problems.add("n_heads",
                   "must leave an even head width d_model / n_heads for the rotary "
                   "embedding, got ",
                   o.d_model, " / ", o.n_heads, " = ", o.head_dim());
  }
  if (o.n_kv_heads < 0)
    problems.add("n_kv_heads", "must be 0 (= n_heads) or positive, got ", o.n_kv_heads);
  else if (o.n_heads > 0 && o.n_heads % o.kv_heads() != 0)
    problems.add("n_kv_heads", "must divide n_heads (", o.n_heads, "), got ", o.n_kv_heads);
  if (o.ffn_hidden < 0)
    problems.add("ffn_hidden", "must be 0 (derived) or positive, got ", o.ffn_hidden);
  if (o.ffn_hidden == 0 && !(o.ffn_multiplier > 0))
    problems.add("ffn_multiplier", "must be greater than 0 when ffn_hidden is 0, got ",
                 o.ffn_multiplier);
  if (o.ffn_multiple_of <= 0)
    problems.add("ffn_multiple_of", "must be positive, got ", o.ffn_multiple_of);
  if (o.max_seq_len <= 0) problems.add("max_seq_len", "must be positive, got ", o.max_seq_len);
  if (!(o.rope_base > 0)) problems.add("rope_base", "must be greater than 0, got ", o.rope_base);
  if (!(o.norm_eps > 0)) problems.add("norm_eps", "must be greater than 0, got ", o.norm_eps);
  if (!(o.dropout >= 0 && o.dropout < 1))
    problems.add("dropout", "must be in [0, 1), got ", o.dropout);
  if (!(o.init_std > 0)) problems.add("init_std", "must be greater than 0, got ", o.init_std);
  if (o.attention != "gqa" && o.attention != "mla")
    problems.add("attention", "must be \"gqa\" or \"mla\", got \"", o.attention, "\"");
  if (o.uses_mla()) {
    if (o.kv_lora_rank <= 0) problems.add("kv_lora_rank", "must be positive for MLA, got ", o.kv_lora_rank);
    if (o.q_lora_rank < 0) problems.add("q_lora_rank", "must be 0 (none) or positive, got ", o.q_lora_rank);
    if (o.qk_nope_head_dim < 0)
      problems.add("qk_nope_head_dim", "must be 0 (= head width) or positive, got ", o.qk_nope_head_dim);
    if (o.v_head_dim < 0) problems.add("v_head_dim", "must be 0 (= head width) or positive, got ", o.v_head_dim);
    if (o.qk_rope_head_dim < 0 || (o.n_heads > 0 && o.rope_dim() % 2 != 0) || (o.n_heads > 0 && o.rope_dim() == 0))
      problems.add("qk_rope_head_dim", "must leave an even, positive rotary width, got ", o.qk_rope_head_dim,
                   " (resolved ", o.n_heads > 0 ? o.rope_dim() : 0, ")");
    if (o.local.window > 0) problems.add("attention", "\"mla\" cannot be combined with a sliding window");
  }
  if (o.mtp_depth < 0) problems.add("mtp_depth", "must be >= 0, got ", o.mtp_depth);
  else if (o.max_seq_len > 0 && o.mtp_depth >= o.max_seq_len - 1)
    problems.add("mtp_depth", "must be below max_seq_len - 1 (", o.max_seq_len - 1, "), got ", o.mtp_depth);
  if (!(o.mtp_weight >= 0)) problems.add("mtp_weight", "must be >= 0, got ", o.mtp_weight);
  if (o.local.window < 0) problems.add("window", "must be 0 (full attention) or positive, got ", o.local.window);
  if (o.local.global_every < 0) problems.add("global_every", "must be >= 0, got ", o.local.global_every);
  if (o.local.global_heads < 0) problems.add("global_heads", "must be >= 0, got ", o.local.global_heads);
  return problems.take();
}

void check_dense_options(const DenseOptions& options) {
  throw_option_problems("dense", dense_option_problems(options));
}

void throw_option_problems(const std::string& architecture,
                           const std::vector<DenseOptionProblem>& problems) {
  if (problems.empty()) return;
  std::string message = architecture + ": invalid options:";
  for (const DenseOptionProblem& problem : problems)
    message += "\n  " + problem.key + " " + problem.message;
  throw Error(message);
}

std::int64_t dense_matmul_parameters(const DenseOptions& o) {
  const std::int64_t attention = attention_matmul_parameters(o);
  const std::int64_t mlp = 3 * o.d_model * o.ffn_width();
  // A global branch: one key/value head per query head, each head_dim wide.
  const std::int64_t global = 4 * o.d_model * o.local.global_heads * o.head_dim();
  std::int64_t branches = 0;
  for (std::int64_t i = 0; i < o.n_layers + o.mtp_depth; ++i) branches += o.local.has_global_branch(i) ? 1 : 0;
  return o.n_layers * (attention + mlp) + branches * global + o.vocab_size * o.d_model +
         mtp_matmul_parameters(o);
}

std::int64_t mtp_matmul_parameters(const DenseOptions& o) {
  const std::int64_t D = o.d_model;
  return o.mtp_depth *
         (2 * D * D + attention_matmul_parameters(o) + 3 * D * o.ffn_width() + o.vocab_size * D);
}

std::int64_t attention_matmul_parameters(const DenseOptions& o) {
  const std::int64_t D = o.d_model, H = o.n_heads;
  if (!o.uses_mla()) return 2 * D * D + 2 * D * o.kv_heads() * o.head_dim();
  const std::int64_t q_width = H * (o.nope_dim() + o.rope_dim());
  const std::int64_t queries = o.q_lora_rank > 0 ? D * o.q_lora_rank + o.q_lora_rank * q_width : D * q_width;
  return queries + D * (o.kv_lora_rank + o.rope_dim()) +
         o.kv_lora_rank * H * (o.nope_dim() + o.value_dim()) + H * o.value_dim() * D;
}

double attention_score_flops(const DenseOptions& o, std::int64_t keys) {
  const auto k = static_cast<double>(keys);
  if (!o.uses_mla()) return 12.0 * static_cast<double>(o.d_model) * k;
  return 6.0 * static_cast<double>(o.n_heads * (o.nope_dim() + o.rope_dim() + o.value_dim())) * k;
}

double dense_flops_per_token(const DenseOptions& o, std::int64_t seq_len) {
  const auto T = static_cast<double>(seq_len);
  double attention = 0;
  for (std::int64_t i = 0; i < o.n_layers + o.mtp_depth; ++i) {
    if (!o.local.is_local_layer(i)) {
      attention += attention_score_flops(o, seq_len);
      continue;
    }
    attention += attention_score_flops(o, std::min(o.local.window, seq_len));
    attention += 12.0 * static_cast<double>(o.local.global_heads * o.head_dim()) * T;
  }
  return 6.0 * static_cast<double>(dense_matmul_parameters(o)) + attention;
}

}  // namespace anvil::nn
