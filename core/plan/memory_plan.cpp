#include "plan/memory_plan.h"

#include "metrics/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace anvil::core {
namespace {

std::string format_parameters(std::int64_t n) {
  const double x = static_cast<double>(n);
  if (x >= 1e9) return fmt::format("{:.2f} B", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f} M", x / 1e6);
  return fmt::format("{:.1f} K", x / 1e3);
}

std::string fit_text(double total, double capacity) {
  if (total <= capacity) return "yes, " + format_binary_bytes(capacity - total) + " free";
  return "no, " + format_binary_bytes(total - capacity) + " over";
}

}  // namespace

std::string format_binary_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (std::abs(bytes) >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  const int decimals = bytes >= 100 ? 0 : bytes >= 10 ? 1 : 2;
  return fmt::format("{:.{}f} {}", bytes, decimals, units[unit]);
}

MemoryPlan plan_memory(const MemoryPlanInput& in) {
  const ModelFootprint& m = in.model;
  const double P = static_cast<double>(m.parameters);
  const double block = static_cast<double>(std::min(m.largest_block_parameters, m.parameters));
  const double N = static_cast<double>(std::max<std::int64_t>(in.ranks, 1));
  const double tokens = static_cast<double>(in.micro_batch_size * in.seq_len);

  MemoryPlan plan;
  double activations = 0;
  for (const ActivationPart& part : m.activations) {
    plan.activations.push_back({part.name, part.bytes_per_token * tokens});
    activations += part.bytes_per_token * tokens;
  }
  plan.kv_cache_per_token = m.kv_cache_bytes_per_token;
  plan.kv_cache_per_sequence = m.kv_cache_bytes_per_token * static_cast<double>(in.seq_len);

  const double w = in.weight_bytes, s = in.optimizer_bytes_per_parameter;
  MemoryColumn full{in.ranks > 1 ? "replicated" : "1 rank", P * w, P * w, P * s, m.weight_copy_bytes, activations};
  plan.columns.push_back(full);
  if (in.ranks <= 1) return plan;

  MemoryColumn zero1 = full;
  zero1.name = "ZeRO-1";
  zero1.optimizer = P * s / N;
  MemoryColumn zero2 = zero1;
  zero2.name = "ZeRO-2";
  zero2.gradients = P * w / N;
  MemoryColumn zero3 = zero2;
  zero3.name = "ZeRO-3";
  // A rank holds its shard, plus the block it computes and the next one, gathered in full;
  // weight copies (autocast's casts) exist only for gathered blocks.
  zero3.weights = P * w / N + 2 * block * w;
  zero3.gradients = P * w / N + block * w;
  zero3.weight_copies = P > 0 ? std::min(1.0, 2 * block / P) * m.weight_copy_bytes : 0;
  plan.columns.insert(plan.columns.end(), {zero1, zero2, zero3});
  return plan;
}

void print_memory_plan(const MemoryPlanInput& in, const MemoryPlan& plan, std::ostream& out) {
  const ModelFootprint& m = in.model;
  out << "memory plan: " << in.ranks << (in.ranks == 1 ? " rank" : " ranks") << ", micro-batch "
      << in.micro_batch_size << " x " << in.seq_len << " tokens, " << in.precision << ", "
      << in.optimizer << " (" << fmt::format("{:g}", in.optimizer_bytes_per_parameter)
      << " bytes of state per weight)"
      << (in.activation_checkpointing ? ", activation checkpointing" : "") << "\n";
  out << "  parameters " << format_parameters(m.parameters);
  if (m.active_parameters != m.parameters)
    out << ", " << format_parameters(m.active_parameters) << " active per token";
  if (m.largest_block_parameters > 0) out << "; largest block " << format_parameters(m.largest_block_parameters);
  out << "; vocabulary " << in.vocab_size << "\n\n";

  std::vector<std::string> header{"PER RANK"};
  for (const MemoryColumn& column : plan.columns) header.push_back(column.name);
  Table table(header);
  const auto row = [&](const std::string& name, double MemoryColumn::*field) {
    std::vector<std::string> cells{name};
    for (const MemoryColumn& column : plan.columns) cells.push_back(format_binary_bytes(column.*field));
    table.add(cells);
  };
  row(fmt::format("weights ({:g} bytes each)", in.weight_bytes), &MemoryColumn::weights);
  row("gradients", &MemoryColumn::gradients);
  row("optimizer state", &MemoryColumn::optimizer);
  row("weight copies", &MemoryColumn::weight_copies);
  row("activations", &MemoryColumn::activations);
  for (const NamedBytes& part : plan.activations) {
    std::vector<std::string> cells{"  " + part.name};
    for (std::size_t i = 0; i < plan.columns.size(); ++i) cells.push_back(format_binary_bytes(part.bytes));
    table.add(cells);
  }
  std::vector<std::string> total{"total"};
  for (const MemoryColumn& column : plan.columns) total.push_back(format_binary_bytes(column.total()));
  table.add(total);
  if (in.device_memory > 0) {
    std::vector<std::string> fits{"fits in " + format_binary_bytes(in.device_memory) + "?"};
    for (const MemoryColumn& column : plan.columns) fits.push_back(fit_text(column.total(), in.device_memory));
    table.add(fits);
  }
  table.print(out);
  if (!in.device_memory_source.empty()) out << "  (device memory: " << in.device_memory_source << ")\n";
  out << "  decode cache: " << format_binary_bytes(plan.kv_cache_per_token) << " per token, "
      << format_binary_bytes(plan.kv_cache_per_sequence) << " per " << in.seq_len
      << "-token sequence\n";
}

}  // namespace anvil::core
