// End-to-end: a third-party architecture that throws from forward() or decode(). Whatever it
// throws (an anvil::Error, a std::exception, a LibTorch error, a value that is not an
// exception), `anvil train` names the component and its library, exits 3, prints no LibTorch
// backtrace, never aborts, and the run folder keeps its last valid checkpoint.
#include "checkpoint/checkpoint_io.h"
#include "run_process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;

namespace {

const fs::path kFaultyDir = fs::path(ANVIL_FIXTURE_PLUGIN_DIR) / "faulty";
const std::string kLibrary = (kFaultyDir / "fixture-faulty-arch.so").string();

// A tiny run of the faulty architecture: byte tokens, checkpoints every 2 steps, no eval.
fs::path write_manifest(const fs::path& dir) {
  const fs::path manifest = dir / "faulty.toml";
  std::ofstream(manifest) << "[run]\nname = \"faulty\"\nout_dir = \"" << dir.string()
                          << "\"\nthreads = 2\nlog_every = 1\n\n[data]\ntrain = [\"" << ANVIL_SOURCE_DIR
                          << "/data/tinyshakespeare.txt\"]\nvalid_fraction = 0.05\n\n"
                             "[tokenizer]\nplugin = \"char\"\nmode = \"bytes\"\n\n"
                             "[model]\nplugin = \"faulty\"\n\n[optimizer]\nplugin = \"sgd\"\nlr = 0.1\n\n"
                             "[training]\nsteps = 8\nseq_len = 16\nmicro_batch_size = 2\nwarmup_steps = 0\n"
                             "eval_every = 0\nprecision = \"fp32\"\n\n"
                             "[checkpoint]\nevery_steps = 2\nkeep_last = 0\n\n[sample]\nprompt = \"\"\n";
  return manifest;
}

anvil::test::ProcessResult train(const fs::path& manifest, const std::string& extra) {
  return run_anvil("train " + manifest.string() + " --plugin-path " + kFaultyDir.string() + " " + extra);
}

}  // namespace

TEST_CASE("an architecture that throws from forward is named, exits 3 and keeps the last checkpoint",
          "[e2e][checkpoint]") {
  anvil::test::TempDir dir("e2e_faulty");
  const fs::path manifest = write_manifest(dir.path);
  const fs::path checkpoints = dir.path / "faulty" / "checkpoints";
  for (const std::string kind : {"anvil", "std", "c10", "int"}) {
    DYNAMIC_SECTION("throwing " << kind) {
      // Five forward passes succeed: steps 1-5, checkpoints after 2 and 4; step 6 fails.
      const auto r = train(manifest, "--set model.fail_after=5 --set 'model.throw_kind=\"" + kind + "\"'");
      INFO(r.out << r.err);
      CHECK(r.exit_code == 3);
      CHECK_THAT(r.err, Contains("error: architecture 'faulty' (from " + kLibrary + ") failed in forward: "));
      if (kind == "int") CHECK_THAT(r.err, Contains("an exception not derived from std::exception"));
      else CHECK_THAT(r.err, Contains("fixture: forward failed on purpose"));
      if (kind == "anvil") CHECK_THAT(r.err, Contains("HINT: the fixture's hint"));
      CHECK_THAT(r.err, !Contains("frame #"));  // no LibTorch backtrace
      const auto latest = anvil::core::latest_valid_checkpoint(checkpoints, [](const std::string&) {});
      REQUIRE(latest.has_value());
      CHECK(latest->step == 4);
      CHECK(anvil::core::list_checkpoints(checkpoints).size() == 2);  // nothing partial, nothing later
    }
  }
}

TEST_CASE("an architecture that throws from decode is named when the run samples", "[e2e][checkpoint]") {
  anvil::test::TempDir dir("e2e_faulty_decode");
  const fs::path manifest = write_manifest(dir.path);
  const auto r = train(manifest, "--set 'model.fail_in=\"decode\"' --set 'model.throw_kind=\"c10\"' "
                                 "--set 'sample.prompt=\"ROMEO:\"'");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains("error: architecture 'faulty' (from " + kLibrary + ") failed in decode: "
                             "fixture: decode failed on purpose"));
  CHECK_THAT(r.err, !Contains("frame #"));
  // Training finished before the sample: its final checkpoint is there and valid.
  const auto latest = anvil::core::latest_valid_checkpoint(dir.path / "faulty" / "checkpoints",
                                                           [](const std::string&) {});
  REQUIRE(latest.has_value());
  CHECK(latest->step == 8);
}
