// `anvil tokenizer train|encode|decode`: train a tokenizer from a manifest or from flags, and
// use a trained one on text (a folder, see tokenizer_setup.h).
#include "cli/command.h"
#include "cli/run_setup.h"
#include "run/tokenizer_setup.h"
#include "data/text_files.h"
#include "log/logging.h"
#include "manifest/overrides.h"
#include "manifest/validate.h"
#include "metrics/progress_bar.h"
#include "run/open_run.h"

#include <anvil/errors.h>
#include <anvil/options.h>
#include <anvil/tokenizer.h>
#include <anvil/toml_text.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace anvil::core {
namespace {

struct TrainSetup {
  toml::table section;                // the resolved [tokenizer] table
  std::vector<fs::path> inputs;
  fs::path out;
};

TrainSetup setup_from_manifest(const Manifest& manifest, const std::string& out) {
  TrainSetup setup;
  setup.section = *manifest.root()["tokenizer"].as_table();
  // The tokenizer folder records the end-of-document token, so that a dataset prepared from
  // the folder alone packs documents the same way.
  const std::string data_eos = manifest.root().at_path("data.eos_token").value_or(std::string());
  if (!data_eos.empty() && !setup.section.contains("eos_token")) setup.section.insert("eos_token", data_eos);
  if (const toml::array* train = manifest.root().at_path("data.train").as_array()) {
    for (const toml::node& entry : *train) setup.inputs.push_back(Manifest::resolve_path(entry));
  }
  if (setup.inputs.empty())
    throw Error(manifest.path().string() + ": [data] train lists no files to train the tokenizer on",
                "add train = [\"corpus.txt\"] to [data]");
  if (!out.empty()) {
    setup.out = out;
  } else {
    const toml::table& run = *manifest.root()["run"].as_table();
    setup.out = Manifest::resolve_path(*run.get("out_dir")) / *run["name"].value<std::string>() /
                "tokenizer";
  }
  return setup;
}

int train(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string manifest_path, plugin, out;
  std::int64_t vocab_size = 0;
  std::vector<std::string> inputs, options, sets;
  po::options_description description("tokenizer train options");
  description.add_options()
      ("manifest", po::value(&manifest_path)->value_name("FILE"),
       "a run manifest: trains its [tokenizer] on its [data] train files")
      ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"), "override a manifest value")
      ("plugin", po::value(&plugin)->value_name("NAME"), "without a manifest: the tokenizer plugin")
      ("vocab-size", po::value(&vocab_size)->value_name("N"), "without a manifest: vocabulary size")
      ("input", po::value(&inputs)->multitoken()->composing()->value_name("FILE"),
       "without a manifest: text files to train on")
      ("option", po::value(&options)->composing()->value_name("KEY=VALUE"),
       "without a manifest: another option of the plugin (TOML-typed), e.g. min_frequency=5")
      ("out", po::value(&out)->value_name("DIR"),
       "where to write the tokenizer (default with a manifest: <out_dir>/<name>/tokenizer)");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(args,
                          "anvil tokenizer train <manifest.toml> [--set KEY=VALUE]... [--out DIR]\n"
                          "       anvil tokenizer train --plugin NAME [--vocab-size N] --input FILE... "
                          "--out DIR [--option KEY=VALUE]...",
                          description, positional, values, common))
    return 0;

  TrainSetup setup;
  std::unique_ptr<PluginHost> host;
  if (!manifest_path.empty()) {
    if (!plugin.empty() || !inputs.empty() || vocab_size || !options.empty())
      throw Error("give either a manifest or --plugin/--input/--vocab-size/--option, not both");
    OpenRun run = open_run(manifest_path, sets, common.plugin_paths);
    host = std::move(run.host);
    setup = setup_from_manifest(run.manifest, out);
  } else {
    if (plugin.empty()) throw Error("tokenizer train needs a manifest or --plugin NAME");
    if (inputs.empty()) throw Error("tokenizer train needs --input FILE...");
    if (out.empty()) throw Error("tokenizer train needs --out DIR");
    host = load_plugins(common, {});
    toml::table root;
    root.insert("tokenizer", toml::table{{"plugin", plugin}});
    Diagnostics diagnostics;
    if (vocab_size) root["tokenizer"].as_table()->insert("vocab_size", vocab_size);
    for (const std::string& option : options)
      apply_override(root, Override{"tokenizer." + option}, diagnostics);
    diagnostics.throw_if_any();
    setup.section = std::move(*root["tokenizer"].as_table());
    setup.inputs.assign(inputs.begin(), inputs.end());
    setup.out = out;
  }

  auto logger = make_logger("tokenizer/" + setup.section["plugin"].value_or(std::string()));
  const auto tokenizer = make_tokenizer(*host, setup.section, "tokenizer", *logger);
  TextFileSource corpus(setup.inputs);
  ProgressBar bar("reading corpus", corpus.total_bytes());
  corpus.on_progress([&bar](std::uint64_t done) { bar.update(done); });
  const auto start = std::chrono::steady_clock::now();
  tokenizer->train(corpus);
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  check_named_tokens(*tokenizer, setup.section, "tokenizer train");
  fs::create_directories(setup.out);
  tokenizer->save(setup.out);
  write_tokenizer_sidecar(setup.out, setup.section);
  std::cout << "trained " << setup.section["plugin"].value_or(std::string()) << " tokenizer: "
            << tokenizer->vocab_size() << " tokens from " << format_bytes(static_cast<double>(corpus.bytes_read()))
            << " in " << fmt::format("{:.2f}", seconds) << " s ("
            << format_bytes(static_cast<double>(corpus.bytes_read()) / std::max(seconds, 1e-9))
            << "/s)\nwrote " << setup.out.string() << "\n";
  return 0;
}

// All of `files` (or stdin when empty), as one string.
std::string read_input(const std::vector<std::string>& files) {
  std::ostringstream text;
  if (files.empty()) {
    text << std::cin.rdbuf();
  } else {
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      if (!in) throw DataError("cannot open input file '" + file + "'");
      text << in.rdbuf();
    }
  }
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void write_ids(std::ostream& out, const std::vector<std::int32_t>& ids) {
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

struct UseOptions {
  CommonOptions common;
  std::string dir, plugin;
  std::vector<std::string> files;
  bool lines = false, stats = false, ordinary = false;
  int threads = 0;
};

bool parse_use_options(const std::vector<std::string>& args, const char* verb, UseOptions& o) {
  po::options_description description(std::string("tokenizer ") + verb + " options");
  description.add_options()
      ("tokenizer", po::value(&o.dir)->required()->value_name("DIR"), "a trained tokenizer folder")
      ("plugin", po::value(&o.plugin)->value_name("NAME"),
       "the plugin that reads DIR (default: from DIR/anvil-tokenizer.toml)")
      ("file", po::value(&o.files)->composing()->value_name("FILE"), "input files (default: stdin)")
      ("lines", po::bool_switch(&o.lines), "one text per input line, one output line each")
      ("threads", po::value(&o.threads)->default_value(0)->value_name("N"),
       "encode --lines on N threads (0 = all cores)")
      ("stats", po::bool_switch(&o.stats), "print size and speed on stderr");
  if (std::string_view(verb) == "encode")
    description.add_options()(
        "ordinary", po::bool_switch(&o.ordinary),
        "encode special-token text as ordinary text, as `anvil data prepare` does with documents. "
        "Without it, special-token text becomes the special token where the tokenizer allows it "
        "(bpe: its allowed_special option, default all; char: always)");
  add_common_options(description, o.common);
  po::positional_options_description positional;
  positional.add("file", -1);
  po::variables_map values;
  return parse_command_line(args,
                            std::string("anvil tokenizer ") + verb +
                                " --tokenizer DIR [--lines]" + (std::string_view(verb) == "encode" ? " [--ordinary]" : "") +
                                " [FILE...]",
                            description, positional, values, o.common);
}

int encode(const std::vector<std::string>& args) {
  UseOptions o;
  if (!parse_use_options(args, "encode", o)) return 0;
  const OpenTokenizer opened = open_tokenizer(o.common.plugin_paths, o.dir, o.plugin);
  const Tokenizer* tokenizer = opened.tokenizer.get();
  const auto* ordinary = dynamic_cast<const OrdinaryEncoder*>(tokenizer);
  if (o.ordinary && !ordinary)
    throw Error("this tokenizer's plugin has no ordinary encoding (anvil::OrdinaryEncoder)",
                "encode without --ordinary, or rebuild the plugin against Anvil SDK 0.5 or later");
  const std::string text = read_input(o.files);
  const auto start = std::chrono::steady_clock::now();
  std::size_t tokens = 0;
  if (o.lines) {
    const std::vector<std::string> lines = split_lines(text);
    const std::size_t block = 1 << 14;  // lines per batch: bounded memory for ids in flight
    for (std::size_t first = 0; first < lines.size(); first += block) {
      const std::vector<std::string> batch(lines.begin() + static_cast<std::ptrdiff_t>(first),
                                           lines.begin() + static_cast<std::ptrdiff_t>(std::min(lines.size(), first + block)));
      for (const auto& ids : o.ordinary ? ordinary->encode_ordinary_batch(batch, o.threads)
                                        : tokenizer->encode_batch(batch, o.threads)) {
        tokens += ids.size();
        write_ids(std::cout, ids);
      }
    }
  } else {
    const std::vector<std::int32_t> ids = o.ordinary ? ordinary->encode_ordinary(text) : tokenizer->encode(text);
    tokens = ids.size();
    write_ids(std::cout, ids);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.stats)
    std::cerr << fmt::format("encoded {} into {} tokens in {:.3f} s ({}/s, {:.2f} bytes/token)\n",
                             format_bytes(static_cast<double>(text.size())), tokens, seconds,
                             format_bytes(static_cast<double>(text.size()) / std::max(seconds, 1e-9)),
                             tokens ? static_cast<double>(text.size()) / static_cast<double>(tokens) : 0.0);
  return 0;
}

// The ids of one input line; `line_number` names the line in errors.
std::vector<std::int32_t> parse_ids(const std::string& line, std::size_t line_number) {
  std::vector<std::int32_t> ids;
  std::istringstream words(line);
  for (std::string word; words >> word;) {
    std::size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0 || id > INT32_MAX)
      throw DataError("input line " + std::to_string(line_number) + ": '" + word +
                      "' is not a token id", "decode reads whitespace-separated non-negative integers");
    ids.push_back(static_cast<std::int32_t>(id));
  }
  return ids;
}

int decode(const std::vector<std::string>& args) {
  UseOptions o;
  if (!parse_use_options(args, "decode", o)) return 0;
  const OpenTokenizer opened = open_tokenizer(o.common.plugin_paths, o.dir, o.plugin);
  const Tokenizer* tokenizer = opened.tokenizer.get();
  const std::vector<std::string> lines = split_lines(read_input(o.files));
  std::vector<std::int32_t> all;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::int32_t> ids = parse_ids(lines[i], i + 1);
    if (o.lines) {
      std::cout << tokenizer->decode(ids) << '\n';
    } else {
      all.insert(all.end(), ids.begin(), ids.end());
    }
  }
  if (!o.lines) std::cout << tokenizer->decode(all);
  return 0;
}

}  // namespace

int run_tokenizer_command(const std::vector<std::string>& args) {
  return run_action("tokenizer", args,
                    "usage: anvil tokenizer train|encode|decode [options]\n"
                    "  train    learn a vocabulary from a manifest's data or from files\n"
                    "  encode   text to token ids (stdin or files)\n"
                    "  decode   token ids to text\n"
                    "Run 'anvil tokenizer <action> --help' for its options.\n",
                    {{"train", train}, {"encode", encode}, {"decode", decode}});
}

}  // namespace anvil::core
