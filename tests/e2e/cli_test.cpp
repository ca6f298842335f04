// End-to-end: the built `anvil` binary on real manifests, checked by exit code and output.
#include "run_process.h"

#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <torch/version.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>
#include <string>

using anvil::test::has_row;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;

namespace {

const std::string kSource = ANVIL_SOURCE_DIR;
const std::string kConfigs = kSource + "/configs";
const std::string kFixtures = kSource + "/tests/fixtures/e2e";

// The first line of `text` that starts with `prefix`, or "" when none does.
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return {};
}

// `text` without its lines that start with `prefix`.
std::string without_line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string kept;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) != 0) kept += line + "\n";
  return kept;
}
}  // namespace

TEST_CASE("anvil --version names the ABI, LibTorch, CUDA and NCCL", "[e2e]") {
  const auto r = run_anvil("--version");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("anvil 0.6.0"));
  CHECK_THAT(r.out, Contains("SDK ABI     1 (SDK 0.6)"));
  CHECK_THAT(r.out, Contains(std::string("LibTorch    ") + TORCH_VERSION));
  CHECK_THAT(r.out, Contains("CUDA"));
  CHECK_THAT(r.out, Contains("NCCL"));
  CHECK_THAT(r.out, Contains("compiler    GCC"));
  // The same report either way, but for the peak, which is measured anew each time.
  CHECK(without_line_starting(run_anvil("version").out, "  peak") ==
        without_line_starting(r.out, "  peak"));
}

TEST_CASE("anvil --version reports the CPU, the BLAS and the measured matmul peak", "[e2e]") {
  const auto r = run_anvil("--version");
  REQUIRE(r.exit_code == 0);
  const std::string cpu = line_starting(r.out, "  CPU");
  const std::string blas = line_starting(r.out, "  BLAS");
  const std::string peak = line_starting(r.out, "  peak");
  CHECK_FALSE(cpu.empty());
  // install-deps.sh makes OpenBLAS the libblas.so.3 that LibTorch's fp32 matmuls go through.
  CHECK_THAT(blas, Contains("OpenBLAS"));
  CHECK_THAT(peak, Contains("GFLOP/s"));
  CHECK_THAT(peak, Contains("fp32"));
  CHECK_THAT(line_starting(r.out, "  precision"), Contains("auto = "));
}

TEST_CASE("every command has --help and usage errors exit 2", "[e2e]") {
  const auto top = run_anvil("--help");
  REQUIRE(top.exit_code == 0);
  for (const char* command : {"check", "plugins", "version"}) {
    CHECK_THAT(top.out, Contains(command));
    const auto help = run_anvil(std::string(command) + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains(std::string("usage: anvil ") + command));
    CHECK_THAT(help.out, Contains("--log-level"));
  }
  CHECK(run_anvil("").exit_code == 2);
  const auto unknown = run_anvil("trian");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Contains("unknown command 'trian'"));
  const auto bad_flag = run_anvil("check --frobnicate x.toml");
  CHECK(bad_flag.exit_code == 2);
  CHECK_THAT(bad_flag.err, Contains("frobnicate"));
  const auto no_manifest = run_anvil("check");
  CHECK(no_manifest.exit_code == 2);
  CHECK_THAT(no_manifest.err, Contains("manifest"));
}

TEST_CASE("plugins list shows every built-in component as loaded", "[e2e]") {
  const auto r = run_anvil("plugins list");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("NAME"));
  CHECK(has_row(r.out, {"char", "tokenizer", "1.0.0", "loaded"}));
  CHECK(has_row(r.out, {"bigram", "architecture", "1.0.0", "loaded"}));
  CHECK(has_row(r.out, {"sgd", "optimizer", "1.0.0", "loaded"}));
  CHECK(has_row(r.out, {"none", "offload", "1.0.0", "loaded"}));
  CHECK(has_row(r.out, {"cross-entropy", "loss", "1.0.0", "loaded"}));
  CHECK(has_row(r.out, {"perplexity", "evaluator", "1.0.0", "loaded"}));
  CHECK_THAT(r.out, Contains("lib/anvil/plugins/optimizer-sgd.so"));
  CHECK_THAT(r.out, !Contains("rejected"));
}

TEST_CASE("plugins show prints the declared options", "[e2e]") {
  const auto r = run_anvil("plugins show sgd");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("optimizer 'sgd'"));
  CHECK_THAT(r.out, Contains("KEY"));
  CHECK_THAT(r.out, Contains("momentum"));
  CHECK_THAT(r.out, Contains("nesterov"));

  const auto as_toml = run_anvil("plugins show sgd --toml");
  REQUIRE(as_toml.exit_code == 0);
  const toml::table parsed = toml::parse(as_toml.out);  // a valid, commented manifest section
  CHECK(parsed.at_path("optimizer.plugin").value<std::string>() == "sgd");
  CHECK(parsed.at_path("optimizer.lr").is_floating_point());

  const auto typo = run_anvil("plugins show sdg");
  CHECK(typo.exit_code == 1);
  CHECK_THAT(typo.err, Contains("no plugin component named 'sdg'"));
  CHECK_THAT(typo.err, Contains("HINT: did you mean 'sgd'?"));
}

TEST_CASE("check accepts the tiny preset and --dump prints the resolved manifest", "[e2e]") {
  const auto r = run_anvil("check " + kConfigs + "/tiny-bigram.toml");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("extends"));
  CHECK(has_row(r.out, {"optimizer", "optimizer", "sgd", "optimizer-sgd", "1.0.0"}));
  CHECK(has_row(r.out, {"loss[0]", "loss", "cross-entropy", "loss-cross-entropy", "1.0.0"}));
  CHECK(has_row(r.out, {"offload", "offload", "none", "offload-none", "1.0.0"}));
  CHECK_THAT(r.out, Contains("memory plan: 1 rank, micro-batch"));
  CHECK_THAT(r.out, Contains("decode cache: 0 B per token"));
  CHECK_THAT(r.out, Contains("OK: "));

  const auto dump = run_anvil("check " + kConfigs +
                              "/tiny-bigram.toml --dump --set training.steps=42 --set optimizer.nesterov=true");
  REQUIRE(dump.exit_code == 0);
  const toml::table resolved = toml::parse(dump.out);
  CHECK(resolved.at_path("training.steps").value<int64_t>() == 42);
  CHECK(resolved.at_path("optimizer.nesterov").value<bool>() == true);
  CHECK(resolved.at_path("optimizer.lr").value<double>() == 0.5);       // from the file
  CHECK(resolved.at_path("run.device").value<std::string>() == "cpu");  // from base/cpu.toml
  CHECK(resolved.at_path("offload.plugin").value<std::string>() == "none");  // default section
  CHECK(resolved.at_path("loss[0].ignore_index").value<int64_t>() == -100);   // plugin default
  CHECK(!resolved.contains("extends"));
}

TEST_CASE("check reports every problem of a broken manifest with file:line:col and exit 2", "[e2e]") {
  const std::string path = kFixtures + "/broken.toml";
  const auto r = run_anvil("check " + path);
  REQUIRE(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Contains(path + ":9:1: error: optimizer.lrr: unknown key 'lrr' in [optimizer]"));
  CHECK_THAT(r.err, Contains("did you mean 'lr'?"));
  CHECK_THAT(r.err, Contains(path + ":10:12: error: optimizer.momentum:"));
  CHECK_THAT(r.err, Contains(path + ":13:9: error: training.steps: expected integer"));
  CHECK_THAT(r.err, Contains("steps = \"many\""));
  CHECK_THAT(r.err, Contains("3 errors generated."));
}

TEST_CASE("check reports syntax errors, bad overrides and missing files", "[e2e]") {
  const auto syntax = run_anvil("check " + kFixtures + "/syntax.toml");
  CHECK(syntax.exit_code == 2);
  CHECK_THAT(syntax.err, Contains(kFixtures + "/syntax.toml:3:"));

  const auto bad_set = run_anvil("check " + kConfigs + "/tiny-bigram.toml --set training.steps");
  CHECK(bad_set.exit_code == 2);
  CHECK_THAT(bad_set.err, Contains("--set training.steps"));

  const auto typed_set = run_anvil("check " + kConfigs + "/tiny-bigram.toml --set training.steps=1.5");
  CHECK(typed_set.exit_code == 2);
  CHECK_THAT(typed_set.err, Contains("training.steps: expected integer"));

  const auto missing = run_anvil("check /nonexistent/run.toml");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("/nonexistent/run.toml"));
}

TEST_CASE("plugins on --plugin-path are listed with their rejection reason", "[e2e]") {
  const auto r = run_anvil(std::string("plugins list --plugin-path ") + ANVIL_FIXTURE_PLUGIN_DIR);
  REQUIRE(r.exit_code == 0);
  CHECK(has_row(r.out, {"fixture-wrong-abi", "-", "1.0.0", "rejected"}));
  CHECK_THAT(r.out, Contains("plugin ABI version 999, but this anvil uses plugin ABI version 1"));
  CHECK_THAT(r.out, Contains("HINT: rebuild the plugin against Anvil SDK 0.6.0"));
  CHECK(has_row(r.out, {"fixture-not-a-library.so", "-", "-", "rejected"}));
  CHECK(has_row(r.out, {"sgd", "optimizer", "1.0.0", "loaded"}));  // built-ins still load
}

TEST_CASE("log level and log file options control logging", "[e2e]") {
  const std::string log = anvil::test::write_temp_file("check.log", "");
  const auto r = run_anvil("check " + kConfigs + "/tiny-bigram.toml --log-level debug --log-file " + log);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("[debug]"));
  CHECK_THAT(text, Contains("optimizer-sgd"));

  const auto bad = run_anvil("check " + kConfigs + "/tiny-bigram.toml --log-level loud");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("loud"));
}

TEST_CASE("tokenizer train, encode and decode round-trip text through the CLI", "[e2e][tokenizer]") {
  const std::string corpus = anvil::test::write_temp_file("corpus.txt", "héllo wörld\nzebra 42\n");
  const std::string out = anvil::test::write_temp_file("unused", "") + "-tokenizer";
  const auto trained = run_anvil("tokenizer train --plugin char --option mode=codepoints --input " +
                                 corpus + " --out " + out);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.out, Contains("trained char tokenizer: "));
  CHECK(std::filesystem::exists(out + "/anvil-tokenizer.toml"));
  const toml::table sidecar = toml::parse_file(out + "/anvil-tokenizer.toml");
  CHECK(sidecar.at_path("tokenizer.mode").value<std::string>() == "codepoints");

  const std::string text = anvil::test::write_temp_file("text.txt", "zebra héllo\nwörld 42");
  const auto encoded = run_anvil("tokenizer encode --tokenizer " + out + " " + text);
  REQUIRE(encoded.exit_code == 0);
  const std::string ids = anvil::test::write_temp_file("ids.txt", encoded.out);
  const auto decoded = run_anvil("tokenizer decode --tokenizer " + out + " " + ids);
  REQUIRE(decoded.exit_code == 0);
  CHECK(decoded.out == "zebra héllo\nwörld 42");

  // --lines: one id line per text line, and back.
  const auto by_line = run_anvil("tokenizer encode --lines --tokenizer " + out + " " + text);
  REQUIRE(by_line.exit_code == 0);
  CHECK(std::count(by_line.out.begin(), by_line.out.end(), '\n') == 2);
  const std::string line_ids = anvil::test::write_temp_file("line_ids.txt", by_line.out);
  CHECK(run_anvil("tokenizer decode --lines --tokenizer " + out + " " + line_ids).out ==
        "zebra héllo\nwörld 42\n");
}

namespace {
// The shared libraries an `anvil` run mapped, as the dynamic loader reports them (LD_DEBUG).
std::string libraries_loaded_by(const std::string& arguments) {
  const std::string log = anvil::test::write_temp_file("ld-debug", "") + "-log";
  const auto run = anvil::test::run_process("LD_DEBUG=files LD_DEBUG_OUTPUT=" + log + " " +
                                            ANVIL_EXECUTABLE + " " + arguments);
  REQUIRE(run.exit_code == 0);
  std::string loaded;
  const std::filesystem::path folder = std::filesystem::path(log).parent_path();
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.path().filename().string().rfind(std::filesystem::path(log).filename().string(), 0) == 0) {
      std::ifstream in(entry.path());
      loaded.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  return loaded;
}
}  // namespace

TEST_CASE("tokenizer and data commands on folders start without LibTorch", "[e2e][tokenizer]") {
  const std::string corpus = anvil::test::write_temp_file("startup-corpus.txt", "hello world\n");
  const std::string out = anvil::test::write_temp_file("startup", "") + "-tokenizer";
  REQUIRE(run_anvil("tokenizer train --plugin char --input " + corpus + " --out " + out).exit_code == 0);
  const std::string text = anvil::test::write_temp_file("startup-text.txt", "hello");

  // Only the tokenizer libraries are loaded, and nothing of LibTorch.
  const std::string encode = libraries_loaded_by("tokenizer encode --tokenizer " + out + " " + text);
  CHECK_THAT(encode, Contains("tokenizer-char.so"));
  CHECK_THAT(encode, !Contains("libtorch_cpu"));
  CHECK_THAT(encode, !Contains("arch-dense.so"));
  CHECK_THAT(encode, !Contains("anvil-commands.so"));
  // The data commands given folders need only the tokenizer too.
  const std::string dataset = out + "-dataset";
  const std::string prepare = libraries_loaded_by("data prepare --input " + corpus + " --tokenizer " +
                                                  out + " --out " + dataset + " --set data.valid_fraction=0");
  CHECK_THAT(prepare, Contains("tokenizer-char.so"));
  CHECK_THAT(prepare, !Contains("libtorch_cpu"));
  const std::string inspect = libraries_loaded_by("data inspect " + dataset);
  CHECK_THAT(inspect, Contains("tokenizer-char.so"));
  CHECK_THAT(inspect, !Contains("libtorch_cpu"));
  // A command that computes loads it (so the check above can fail).
  CHECK_THAT(libraries_loaded_by("version"), Contains("libtorch_cpu"));
}

TEST_CASE("tokenizer commands report bad input with exit codes", "[e2e][tokenizer]") {
  const auto missing_input = run_anvil("tokenizer train --plugin char --input /nonexistent.txt --out /tmp/x");
  CHECK(missing_input.exit_code == 1);
  CHECK_THAT(missing_input.err, Contains("cannot read corpus file '/nonexistent.txt'"));

  const auto bad_option = run_anvil("tokenizer train --plugin char --option mode=words --input " +
                                    kSource + "/data/tinyshakespeare.txt --out /tmp/x");
  CHECK(bad_option.exit_code == 2);
  CHECK_THAT(bad_option.err, Contains("tokenizer.mode: must be one of \"bytes\", \"codepoints\""));

  const auto unknown_plugin = run_anvil("tokenizer train --plugin chr --input x --out y");
  CHECK(unknown_plugin.exit_code == 3);
  CHECK_THAT(unknown_plugin.err, Contains("unknown tokenizer plugin 'chr'"));

  const auto no_folder = run_anvil("tokenizer encode --tokenizer /nonexistent-dir");
  CHECK(no_folder.exit_code == 1);
  CHECK_THAT(no_folder.err, Contains("tokenizer folder '/nonexistent-dir' does not exist"));

  const std::string out = anvil::test::write_temp_file("unused2", "") + "-tokenizer";
  REQUIRE(run_anvil("tokenizer train --plugin char --input " + kSource +
                    "/data/tinyshakespeare.txt --out " + out).exit_code == 0);
  const std::string bad_ids = anvil::test::write_temp_file("bad_ids.txt", "1 2\n3 x4\n");
  const auto bad_decode = run_anvil("tokenizer decode --tokenizer " + out + " " + bad_ids);
  CHECK(bad_decode.exit_code == 1);
  CHECK_THAT(bad_decode.err, Contains("input line 2: 'x4' is not a token id"));
}

TEST_CASE("tokenizer train uses a manifest's [tokenizer] and [data] sections", "[e2e][tokenizer]") {
  const std::string out = anvil::test::write_temp_file("unused3", "") + "-tokenizer";
  const auto r = run_anvil("tokenizer train " + kConfigs + "/tiny-bigram.toml --out " + out);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("trained char tokenizer: 257 tokens from 1.1 MB"));
  const toml::table sidecar = toml::parse_file(out + "/anvil-tokenizer.toml");
  CHECK(sidecar.at_path("tokenizer.plugin").value<std::string>() == "char");
  CHECK(sidecar.at_path("tokenizer.mode").value<std::string>() == "bytes");
}

TEST_CASE("bpe: train from flags, round-trip text, and encode with GPT-2's files", "[e2e][tokenizer]") {
  const std::string out = anvil::test::write_temp_file("unused4", "") + "-bpe";
  const auto trained = run_anvil("tokenizer train --plugin bpe --vocab-size 400 --option min_frequency=3 --input " +
                                 kSource + "/data/tinyshakespeare.txt --out " + out);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.out, Contains("trained bpe tokenizer: 400 tokens from 1.1 MB"));
  for (const char* file : {"tokenizer.json", "vocab.json", "merges.txt", "anvil-tokenizer.toml"})
    CHECK(std::filesystem::exists(out + "/" + file));

  const std::string text = anvil::test::write_temp_file("bpe_text.txt", "First Citizen: héllo 😀\n\tdone  ");
  const auto encoded = run_anvil("tokenizer encode --tokenizer " + out + " " + text);
  REQUIRE(encoded.exit_code == 0);
  const std::string ids = anvil::test::write_temp_file("bpe_ids.txt", encoded.out);
  CHECK(run_anvil("tokenizer decode --tokenizer " + out + " " + ids).out == "First Citizen: héllo 😀\n\tdone  ");

  // Folders written by other tools name the plugin on the command line.
  const std::string hello = anvil::test::write_temp_file("hello.txt", "Hello world");
  const auto gpt2 = run_anvil("tokenizer encode --plugin bpe --tokenizer " + kSource +
                              "/tests/fixtures/tokenizer/gpt2 " + hello);
  REQUIRE(gpt2.exit_code == 0);
  CHECK(gpt2.out == "15496 995\n");
  const auto no_plugin = run_anvil("tokenizer encode --tokenizer " + kSource + "/tests/fixtures/tokenizer/gpt2 " + hello);
  CHECK(no_plugin.exit_code == 1);
  CHECK_THAT(no_plugin.err, Contains("has no anvil-tokenizer.toml"));

  const auto too_small = run_anvil("tokenizer train --plugin bpe --vocab-size 100 --input " + hello + " --out " + out);
  CHECK(too_small.exit_code == 2);
  CHECK_THAT(too_small.err, Contains("tokenizer.vocab_size: must be >= 257 (got 100)"));
}

TEST_CASE("an unknown plugin's error says where plugins were looked for and what failed to load", "[e2e]") {
  const auto r = run_anvil("check " + kConfigs + "/tiny-bigram.toml --set 'optimizer.plugin=\"adamx\"'"
                           " --plugin-path /nonexistent/anvil-plugins --plugin-path " + ANVIL_FIXTURE_PLUGIN_DIR);
  CHECK(r.exit_code == 2);
  // A search path entry that does not exist is a warning, not silence.
  CHECK_THAT(r.err, Contains("plugin path '/nonexistent/anvil-plugins' does not exist; skipped"));
  CHECK_THAT(r.err, Contains("unknown optimizer plugin 'adamx'"));
  CHECK_THAT(r.err, Contains("; searched: " + std::string(ANVIL_FIXTURE_PLUGIN_DIR)));
  CHECK_THAT(r.err, Contains("failed to load: "));
  CHECK_THAT(r.err, Contains("fixture-wrong-abi.so (plugin '"));
}
