// `anvil generate RUN`: text from a trained checkpoint. The prompt comes from --prompt or stdin;
// sampling settings default to the run's [sample] section; the continuation is printed as it is
// generated (after the prompt) and a line of statistics goes to stderr.
#include "run/checkpoint_model.h"
#include "cli/torch_commands.h"
#include "cli/run_setup.h"
#include "train/device_setup.h"
#include "train/sampler.h"

#include <anvil/errors.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <iostream>
#include <iterator>

namespace po = boost::program_options;

namespace anvil::core {
namespace {

std::string read_stdin_prompt() {
  if (::isatty(STDIN_FILENO))
    throw po::error("anvil generate needs a prompt: --prompt TEXT, or text on stdin");
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  while (!text.empty() && text.back() == '\n') text.pop_back();  // the newline `echo` adds
  return text;
}

}  // namespace

int run_generate_command(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string path, device_name = "cpu";
  std::optional<std::string> prompt;
  bool no_stream = false, no_cache = false, ignore_eos = false;
  po::options_description description("generate options");
  description.add_options()
      ("checkpoint", po::value(&path)->value_name("PATH"),
       "a run folder (its newest valid checkpoint) or one checkpoint folder")
      ("prompt", po::value<std::string>()->value_name("TEXT"), "the text to continue (default: stdin)")
      ("max-new-tokens", po::value<std::int64_t>()->value_name("N"), "tokens to generate (default: the run's [sample])")
      ("temperature", po::value<double>()->value_name("T"), "softmax temperature; 0 = greedy")
      ("top-k", po::value<std::int64_t>()->value_name("K"), "sample among the K most likely tokens; 0 = all")
      ("top-p", po::value<double>()->value_name("P"), "sample among the most likely tokens holding mass P; 1 = all")
      ("repetition-penalty", po::value<double>()->value_name("R"), "penalize tokens already in the text; 1 = off")
      ("seed", po::value<std::uint64_t>()->value_name("S"), "sampling seed (default: the run's)")
      ("stop", po::value<std::vector<std::string>>()->composing()->value_name("TEXT"),
       "end generation before this string (repeatable)")
      ("ignore-eos", po::bool_switch(&ignore_eos), "do not stop at the end-of-text token")
      ("no-stream", po::bool_switch(&no_stream), "print the text once generation is done")
      ("no-cache", po::bool_switch(&no_cache),
       "recompute the whole sequence for every token instead of using the KV cache (slow; for comparison)")
      ("device", po::value(&device_name)->value_name("DEVICE"), "cpu (default), cuda, cuda:N or auto");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("checkpoint", 1);
  po::variables_map values;
  if (!parse_command_line(args, "anvil generate <run-or-checkpoint> [--prompt TEXT] [options]", description,
                          positional, values, common))
    return 0;
  if (path.empty()) throw po::error("anvil generate needs a checkpoint: anvil generate runs/NAME");

  const c10::Device device = resolve_device(device_name);
  CheckpointModel loaded = load_checkpoint_model(common.plugin_paths, path, device);
  SampleConfig config = loaded.config.sample;
  config.prompt = values.count("prompt") ? values["prompt"].as<std::string>() : read_stdin_prompt();
  if (values.count("max-new-tokens")) config.max_new_tokens = values["max-new-tokens"].as<std::int64_t>();
  if (values.count("temperature")) config.temperature = values["temperature"].as<double>();
  if (values.count("top-k")) config.top_k = values["top-k"].as<std::int64_t>();
  if (values.count("top-p")) config.top_p = values["top-p"].as<double>();
  if (values.count("repetition-penalty")) config.repetition_penalty = values["repetition-penalty"].as<double>();
  if (values.count("stop")) config.stop = values["stop"].as<std::vector<std::string>>();
  config.stop_at_end_of_text = !ignore_eos;
  if (config.max_new_tokens < 1) throw po::error("--max-new-tokens must be at least 1");
  if (config.temperature < 0) throw po::error("--temperature must be at least 0");
  if (config.top_k < 0) throw po::error("--top-k must be at least 0");
  if (!(config.top_p > 0 && config.top_p <= 1)) throw po::error("--top-p must be in (0, 1]");
  if (!(config.repetition_penalty > 0)) throw po::error("--repetition-penalty must be positive");
  const std::uint64_t seed = values.count("seed") ? values["seed"].as<std::uint64_t>()
                             : config.seed           ? config.seed
                                                     : derive_seed(loaded.config.seed, /*sample=*/2);

  std::cout << config.prompt << std::flush;
  TextCallback stream;
  if (!no_stream) stream = [](std::string_view piece) { std::cout << piece << std::flush; };
  const Sample sample = generate(*loaded.run.model, *loaded.run.tokenizer, config, seed, device, stream,
                                 !no_cache, loaded.run.identities);
  if (no_stream) std::cout << sample.text;
  std::cout << "\n" << std::flush;
  std::cerr << fmt::format(
      "{} tokens in {:.2f} s (prompt {} tokens in {:.3f} s, then {:.1f} tokens/s{}); stopped: {}; "
      "step {} of {}\n",
      sample.tokens.size(), sample.seconds, sample.prompt_tokens, sample.prompt_seconds,
      sample.decode_tokens_per_s(), no_cache ? ", no KV cache" : "", sample.stop_reason, loaded.step,
      loaded.dir.string());
  return 0;
}

}  // namespace anvil::core
