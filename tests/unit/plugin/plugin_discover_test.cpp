// PluginHost::discover over the fixture folder: every file gets the right status, the reason of
// a rejection is the error load() gives, and nothing throws.
#include "fixture_support.h"
#include "plugin/plugin_host.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

using anvil::ComponentKind;
using anvil::core::LibraryRecord;
using anvil::core::PluginHost;
using anvil::test::fixture;
using anvil::test::fixture_dir;
using anvil::test::load_error;
using anvil::test::quoted;

namespace {

std::map<std::string, const LibraryRecord*> records_by_file(const PluginHost& host) {
  std::map<std::string, const LibraryRecord*> records;
  for (const LibraryRecord& record : host.libraries())
    records[record.path.filename().string()] = &record;
  return records;
}

const std::vector<std::string> kRejectedAlone = {
    "fixture-not-a-library.so", "fixture-no-info.so",     "fixture-no-register.so",
    "fixture-throws.so",        "fixture-wrong-abi.so",   "fixture-wrong-sdk.so",
    "fixture-wrong-torch.so",   "fixture-orphan-footprint.so"};

}  // namespace

TEST_CASE("discover records the status of every library in the fixture folder",
          "[plugin][loader]") {
  PluginHost host;
  // The good plugin named first, as a manifest path would, then its whole folder.
  REQUIRE_NOTHROW(host.discover({fixture("fixture-good"), fixture_dir()}));

  const auto records = records_by_file(host);
  CHECK(host.libraries().size() == 11);  // the good one is not loaded a second time
  CHECK(host.libraries().front().path == fixture("fixture-good"));

  CHECK(records.at("fixture-good.so")->status == LibraryRecord::Status::loaded);
  CHECK(records.at("fixture-factory-throws.so")->status == LibraryRecord::Status::loaded);

  const LibraryRecord& duplicate = *records.at("fixture-duplicate.so");
  CHECK(duplicate.status == LibraryRecord::Status::rejected);
  CHECK(duplicate.reason == "loss 'fixture-square' is registered by both " +
                                quoted(fixture("fixture-good")) + " and " +
                                quoted(fixture("fixture-duplicate")));

  for (const std::string& file : kRejectedAlone) {
    INFO(file);
    const LibraryRecord& record = *records.at(file);
    CHECK(record.status == LibraryRecord::Status::rejected);
    // The same reason a single load() in a fresh host gives.
    PluginHost fresh;
    const anvil::PluginError error = load_error(fresh, record.path);
    CHECK(record.reason == error.what());
    CHECK(record.hint == error.hint());
  }

  CHECK(host.find(ComponentKind::loss, "fixture-square")->plugin_name == "fixture-good");
  CHECK(host.find(ComponentKind::loss, "fixture-half-registered") == nullptr);
}

TEST_CASE("discover on the folder alone loads whichever duplicate comes first by name",
          "[plugin][loader]") {
  PluginHost host;
  REQUIRE_NOTHROW(host.discover({fixture_dir()}));
  const auto records = records_by_file(host);
  CHECK(host.libraries().size() == 11);
  // Files are visited in name order: fixture-duplicate.so before fixture-good.so.
  CHECK(records.at("fixture-duplicate.so")->status == LibraryRecord::Status::loaded);
  const LibraryRecord& good = *records.at("fixture-good.so");
  CHECK(good.status == LibraryRecord::Status::rejected);
  CHECK(good.reason == "loss 'fixture-square' is registered by both " +
                           quoted(fixture("fixture-duplicate")) + " and " +
                           quoted(fixture("fixture-good")));
  CHECK(good.name == "fixture-good");
  CHECK(host.find(ComponentKind::offload, "fixture-map") == nullptr);
}

TEST_CASE("discover skips missing entries and libraries it has seen", "[plugin][loader]") {
  PluginHost host;
  REQUIRE_NOTHROW(host.discover({fixture_dir() / "no-such-folder"}));
  CHECK(host.libraries().empty());

  REQUIRE_NOTHROW(host.discover({fixture_dir()}));
  const auto seen = host.libraries().size();
  REQUIRE_NOTHROW(host.discover({fixture_dir(), fixture("fixture-wrong-abi")}));
  CHECK(host.libraries().size() == seen);
}

TEST_CASE("discover_kind loads only the libraries named for the kind, discover the rest",
          "[plugin][loader]") {
  CHECK(anvil::core::library_prefix(ComponentKind::tokenizer) == "tokenizer-");
  CHECK(anvil::core::library_prefix(ComponentKind::architecture) == "arch-");
  CHECK(anvil::core::library_prefix(ComponentKind::evaluator) == "eval-");

  const std::filesystem::path builtin = ANVIL_BUILTIN_PLUGIN_DIR;
  PluginHost host;
  host.discover_kind({builtin}, ComponentKind::tokenizer);
  std::vector<std::string> loaded;
  for (const LibraryRecord& record : host.libraries()) loaded.push_back(record.path.filename().string());
  CHECK(loaded == std::vector<std::string>{"tokenizer-bpe.so", "tokenizer-char.so"});
  CHECK(host.find(ComponentKind::tokenizer, "bpe") != nullptr);
  CHECK(host.find(ComponentKind::architecture, "dense") == nullptr);

  // The rest on request; the tokenizer libraries are not loaded (or listed) twice, and the
  // folder is named once in what was searched.
  host.discover({builtin});
  CHECK(host.find(ComponentKind::architecture, "dense") != nullptr);
  CHECK(records_by_file(host).size() == host.libraries().size());
  const std::string summary = host.search_summary();
  CHECK(summary.find(builtin.string()) == summary.rfind(builtin.string()));
}
