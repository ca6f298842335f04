#include <anvil/component.h>
#include <anvil/context.h>
#include <anvil/evaluator.h>
#include <anvil/log.h>
#include <anvil/metrics.h>
#include <anvil/registry.h>
#include <anvil/tokenizer.h>

#include <array>
#include <utility>

// Out-of-line virtual destructors anchor each interface's vtable and RTTI in libanvil_sdk, so
// dynamic_cast and exceptions work the same in the host and in every plugin.
// (KVCache, Model and the tensor-heavy interfaces are anchored in model_anchor.cpp.)

namespace anvil {

namespace {
constexpr std::array<std::pair<ComponentKind, std::string_view>, 6> kKindNames{{
    {ComponentKind::tokenizer, "tokenizer"},
    {ComponentKind::architecture, "architecture"},
    {ComponentKind::optimizer, "optimizer"},
    {ComponentKind::offload, "offload"},
    {ComponentKind::loss, "loss"},
    {ComponentKind::evaluator, "evaluator"},
}};
}  // namespace

std::string_view to_string(ComponentKind kind) {
  for (const auto& [k, name] : kKindNames)
    if (k == kind) return name;
  return "unknown";
}

std::optional<ComponentKind> parse_component_kind(std::string_view name) {
  for (const auto& [k, n] : kKindNames)
    if (n == name) return k;
  return std::nullopt;
}

Component::~Component() = default;
Logger::~Logger() = default;
MetricsSink::~MetricsSink() = default;
Registry::~Registry() = default;
TextSource::~TextSource() = default;
BatchSource::~BatchSource() = default;

std::vector<std::vector<std::int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                               int /*threads*/) const {
  std::vector<std::vector<std::int32_t>> ids;
  ids.reserve(texts.size());
  for (const std::string& text : texts) ids.push_back(encode(text));
  return ids;
}

OrdinaryEncoder::~OrdinaryEncoder() = default;

std::vector<std::vector<std::int32_t>> OrdinaryEncoder::encode_ordinary_batch(
    const std::vector<std::string>& texts, int /*threads*/) const {
  std::vector<std::vector<std::int32_t>> ids;
  ids.reserve(texts.size());
  for (const std::string& text : texts) ids.push_back(encode_ordinary(text));
  return ids;
}

VectorTextSource::VectorTextSource(std::vector<std::string> documents)
    : documents_(std::move(documents)) {}

bool VectorTextSource::next(std::string& document) {
  if (position_ >= documents_.size()) return false;
  document = documents_[position_++];
  return true;
}

std::uint64_t derive_seed(std::uint64_t run_seed, std::uint64_t purpose) {
  std::uint64_t z = run_seed + 0x9E3779B97F4A7C15ull * (purpose + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Logger& RunContext::log() const {
  static NullLogger silent;
  return logger ? *logger : silent;
}

MetricsSink& RunContext::sink() const {
  static NullMetricsSink discard;
  return metrics ? *metrics : discard;
}

}  // namespace anvil
