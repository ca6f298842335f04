// `anvil data inspect DIR`: what a prepared dataset holds, checked: counts per split, the
// stage summary of the prepare that made it, the most frequent tokens and a few decoded
// training windows.
#include "cli/command.h"
#include "cli/run_setup.h"
#include "metrics/table.h"
#include "run/tokenizer_setup.h"
#include "data/dataset.h"
#include "data/token_loader.h"
#include "metrics/progress_bar.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace anvil::core {
namespace {

struct InspectArgs {
  CommonOptions common;
  std::string dir;
  int top = 20;
  int samples = 3;
  std::int64_t seq_len = 64;
  std::uint64_t seed = 0;
  bool no_verify = false;
};

void print_splits(const Dataset& dataset, std::ostream& out) {
  const DatasetInfo& info = dataset.info();
  Table table({"SPLIT", "DOCUMENTS", "TOKENS", "TOKENS/DOC", "TEXT/TOKEN", "SHARDS", "BYTES"});
  for (const auto& [name, split] : info.splits) {
    const double per_document = split.documents
                                    ? static_cast<double>(split.tokens) / static_cast<double>(split.documents)
                                    : 0.0;
    table.add({name, format_count(split.documents), format_count(split.tokens),
               fmt::format("{:.1f}", per_document),
               split.text_bytes ? fmt::format("{:.2f} B", static_cast<double>(split.text_bytes) /
                                                              static_cast<double>(std::max<std::uint64_t>(split.tokens, 1)))
                                : "?",
               std::to_string(split.shards.size()),
               format_bytes(static_cast<double>(split.tokens * token_bytes(info.token_type)))});
  }
  table.print(out);
}

// The prepare summary stored in dataset.json, when the dataset has one.
void print_stages(const DatasetInfo& info, std::ostream& out) {
  const nlohmann::json details = nlohmann::json::parse(info.details_json, nullptr, false);
  if (details.is_discarded() || !details.contains("stages")) return;
  Table table({"STAGE", "DOCS IN", "DOCS OUT", "BYTES IN", "BYTES OUT", "TIME"});
  for (const char* name : {"read", "clean", "dedup", "tokenize"}) {
    if (!details["stages"].contains(name)) continue;
    const nlohmann::json& stage = details["stages"][name];
    table.add({name, format_count(stage.value("documents_in", std::uint64_t{0})),
               format_count(stage.value("documents_out", std::uint64_t{0})),
               format_bytes(stage.value("bytes_in", 0.0)), format_bytes(stage.value("bytes_out", 0.0)),
               fmt::format("{:.2f} s", stage.value("seconds", 0.0))});
  }
  out << "\nprepared by " << info.created_by << ":\n";
  table.print(out);
  if (details.contains("removed")) {
    out << "removed:";
    bool first = true;
    for (const auto& [reason, count] : details["removed"].items()) {
      if (count.get<std::uint64_t>() == 0) continue;
      out << (first ? " " : ", ") << format_count(count.get<std::uint64_t>()) << " " << reason;
      first = false;
    }
    out << (first ? " nothing\n" : "\n");
  }
}

// Token counts of a whole split, read in blocks through the memory map.
std::vector<std::uint64_t> histogram(const TokenStream& tokens, std::int64_t vocab_size) {
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(vocab_size), 0);
  std::vector<std::int64_t> block(1 << 16);
  for (std::uint64_t at = 0; at < tokens.size(); at += block.size()) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), tokens.size() - at));
    tokens.read(at, n, block.data());
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t id = block[i];
      if (id < 0 || id >= vocab_size)
        throw DataError("token " + std::to_string(at + i) + " of the dataset is id " + std::to_string(id) +
                        ", outside the tokenizer's vocabulary of " + std::to_string(vocab_size));
      counts[static_cast<std::size_t>(id)] += 1;
    }
  }
  return counts;
}

std::string decode_one(const Tokenizer& tokenizer, std::int64_t id) {
  return quote_string(tokenizer.decode({static_cast<std::int32_t>(id)}));
}

void print_top_tokens(const TokenStream& tokens, const Tokenizer& tokenizer, int top,
                      std::ostream& out) {
  const std::vector<std::uint64_t> counts = histogram(tokens, tokenizer.vocab_size());
  std::vector<std::size_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t shown = std::min(order.size(), static_cast<std::size_t>(top));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](std::size_t a, std::size_t b) { return counts[a] > counts[b] || (counts[a] == counts[b] && a < b); });
  const auto used = static_cast<std::uint64_t>(std::count_if(counts.begin(), counts.end(), [](std::uint64_t c) { return c > 0; }));
  out << "\ntop " << shown << " tokens of train (" << format_count(used) << " of "
      << format_count(counts.size()) << " ids used):\n";
  Table table({"ID", "TOKEN", "COUNT", "SHARE"});
  for (std::size_t i = 0; i < shown; ++i) {
    const std::size_t id = order[i];
    table.add({std::to_string(id), decode_one(tokenizer, static_cast<std::int64_t>(id)),
               format_count(counts[id]),
               fmt::format("{:.2f}%", 100.0 * static_cast<double>(counts[id]) / static_cast<double>(std::max<std::uint64_t>(tokens.size(), 1)))});
  }
  table.print(out);
}

// A few windows exactly as the training loader would hand them out (first batch, seeded).
void print_samples(const TokenStream& tokens, const Tokenizer& tokenizer, const InspectArgs& args,
                   std::ostream& out) {
  if (tokens.size() < static_cast<std::uint64_t>(args.seq_len) + 1) {
    out << "\nno sample windows: the train split has fewer than seq_len + 1 = " << args.seq_len + 1
        << " tokens\n";
    return;
  }
  LoaderOptions options;
  options.seq_len = args.seq_len;
  options.batch_size = args.samples;
  options.seed = args.seed;
  options.prefetch = 0;
  TrainLoader loader(tokens, options);
  const TokenBatch batch = loader.next();
  out << "\n" << args.samples << " training windows of " << args.seq_len << " tokens (seed "
      << args.seed << "), decoded:\n";
  for (std::int64_t row = 0; row < batch.rows; ++row) {
    const auto first = batch.input.begin() + row * batch.seq_len;
    const std::vector<std::int32_t> ids(first, first + batch.seq_len);
    out << "[" << row << "] " << quote_string(tokenizer.decode(ids)) << "\n";
  }
}

}  // namespace

int run_data_inspect(const std::vector<std::string>& argv) {
  InspectArgs args;
  po::options_description description("data inspect options");
  description.add_options()
      ("dataset", po::value(&args.dir)->required()->value_name("DIR"), "a prepared dataset folder")
      ("top", po::value(&args.top)->default_value(20)->value_name("K"), "most frequent tokens to list")
      ("samples", po::value(&args.samples)->default_value(3)->value_name("N"), "training windows to decode")
      ("seq-len", po::value(&args.seq_len)->default_value(64)->value_name("T"), "tokens per sample window")
      ("seed", po::value(&args.seed)->default_value(0)->value_name("S"), "seed of the sample windows")
      ("no-verify", po::bool_switch(&args.no_verify), "skip the checksum verification");
  add_common_options(description, args.common);
  po::positional_options_description positional;
  positional.add("dataset", 1);
  po::variables_map values;
  if (!parse_command_line(argv, "anvil data inspect <DIR> [--top K] [--samples N] [--seq-len T]",
                          description, positional, values, args.common))
    return 0;
  if (args.top < 0 || args.samples < 0 || args.seq_len < 1)
    throw Error("--top and --samples must be at least 0 and --seq-len at least 1");

  const auto start = std::chrono::steady_clock::now();
  const Dataset dataset = Dataset::open(args.dir, {!args.no_verify});
  const double open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const DatasetInfo& info = dataset.info();
  std::ostream& out = std::cout;
  out << "dataset " << dataset.dir().string() << " (format " << info.version << ", "
      << to_string(info.token_type) << " tokens)\n";
  out << "tokenizer: " << info.tokenizer.plugin << ", vocabulary "
      << format_count(static_cast<std::uint64_t>(info.tokenizer.vocab_size)) << ", end of document "
      << quote_string(info.tokenizer.eos_token) << " = " << info.tokenizer.eos_id << "\n";
  out << (args.no_verify ? "checksums: not verified" : "checksums: verified")
      << fmt::format(" (opened in {:.2f} s)\n\n", open_seconds);
  print_splits(dataset, out);
  print_stages(info, out);

  const OpenTokenizer opened = open_tokenizer(args.common.plugin_paths, dataset.dir() / kDatasetTokenizerDir, "");
  const TokenStream& train = dataset.split("train");
  if (args.top > 0) print_top_tokens(train, *opened.tokenizer, args.top, out);
  if (args.samples > 0) print_samples(train, *opened.tokenizer, args, out);
  return 0;
}

}  // namespace anvil::core
