// safetensors files: round trips of every dtype and shape, the exact bytes of a known file,
// every error a broken file can cause, and agreement with an independent Python reader/writer.

#include "checkpoint/safetensors.h"

#include "support/data_error.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using anvil::core::read_safetensors;
using anvil::core::StateDict;
using anvil::core::write_safetensors;
using Catch::Matchers::Contains;

namespace {

const std::string kFixture = ANVIL_SOURCE_DIR "/tests/fixtures/checkpoint/read_safetensors.py";

/// A tensor's elements as raw bytes, row-major.
std::string bytes_of(const at::Tensor& tensor) {
  const at::Tensor host = tensor.cpu().contiguous();
  if (host.numel() == 0) return {};
  return std::string(static_cast<const char*>(host.data_ptr()), host.nbytes());
}

/// Same dtype, same shape, same bytes (so NaN == NaN and -0.0 != 0.0).
void check_same(const at::Tensor& got, const at::Tensor& expected) {
  CHECK(got.scalar_type() == expected.scalar_type());
  CHECK(got.sizes().vec() == expected.sizes().vec());
  CHECK(got.is_contiguous());
  CHECK(bytes_of(got) == bytes_of(expected));
}

void check_same(const StateDict& got, const StateDict& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("tensor " << expected[i].first);
    CHECK(got[i].first == expected[i].first);
    check_same(got[i].second, expected[i].second);
  }
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string le64(std::uint64_t value) {
  return std::string(reinterpret_cast<const char*>(&value), 8);
}

/// A file of the header length `length`, then `header`, then `data`: for broken files.
void write_raw(const fs::path& path, std::uint64_t length, const std::string& header,
               const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << le64(length) << header << data;
}
void write_raw(const fs::path& path, const std::string& header, const std::string& data) {
  write_raw(path, header.size(), header, data);
}

/// The DataError's message for reading `path`.
std::string read_error(const fs::path& path) {
  return anvil::test::data_error([&] { read_safetensors(path); });
}

const std::map<at::ScalarType, std::string>& dtype_names() {
  static const std::map<at::ScalarType, std::string> names{
      {at::kDouble, "F64"}, {at::kFloat, "F32"}, {at::kHalf, "F16"},  {at::kBFloat16, "BF16"},
      {at::kLong, "I64"},   {at::kInt, "I32"},   {at::kShort, "I16"}, {at::kChar, "I8"},
      {at::kByte, "U8"},    {at::kBool, "BOOL"}};
  return names;
}

/// A [3, 4] tensor of `type` with awkward values: NaN, infinities and -0 for floats, the
/// extremes for integers.
at::Tensor sample(at::ScalarType type) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const double inf = std::numeric_limits<double>::infinity();
  if (type == at::kBool) return at::arange(12, f64).reshape({3, 4}).remainder(3).eq(0);
  if (at::isFloatingType(type)) {
    at::Tensor values = at::arange(-6, 6, f64).mul(0.5);
    values[0] = std::nan("");
    values[1] = inf;
    values[2] = -inf;
    values[3] = -0.0;
    return values.reshape({3, 4}).to(type);
  }
  at::Tensor values = at::arange(-6, 6, at::TensorOptions().dtype(at::kLong));
  if (type == at::kByte) values = values.add(6);
  if (type == at::kLong) {
    values[0] = std::numeric_limits<std::int64_t>::min();
    values[11] = std::numeric_limits<std::int64_t>::max();
  }
  return values.reshape({3, 4}).to(type);
}

/// stdout of a shell command, and whether it exited with 0.
std::pair<std::string, bool> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  const int status = ::pclose(pipe);
  return {output, status == 0};
}

bool have_python() { return std::system("command -v python3 > /dev/null 2>&1") == 0; }

std::string shell_quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t value = 0xcbf29ce484222325ULL;
  for (const unsigned char byte : bytes) value = (value ^ byte) * 0x100000001b3ULL;
  return value;
}

/// The line read_safetensors.py prints for one tensor.
std::string summary_line(const std::string& name, const at::Tensor& tensor) {
  const std::string bytes = bytes_of(tensor);
  std::uint32_t sum = 0;
  for (const unsigned char byte : bytes) sum += byte;
  std::ostringstream line;
  line << name << ' ' << dtype_names().at(tensor.scalar_type()) << " [";
  for (std::size_t i = 0; i < tensor.sizes().size(); ++i)
    line << (i ? "," : "") << tensor.sizes()[i];
  char fnv[17];
  std::snprintf(fnv, sizeof fnv, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
  line << "] " << sum << ' ' << fnv << '\n';
  return line.str();
}

}  // namespace

TEST_CASE("safetensors: every dtype round-trips exactly", "[checkpoint]") {
  anvil::test::TempDir dir;
  StateDict tensors;
  for (const auto& [type, name] : dtype_names()) tensors.emplace_back("t." + name, sample(type));
  write_safetensors(dir.path / "all.safetensors", tensors);
  const auto contents = read_safetensors(dir.path / "all.safetensors");
  check_same(contents.tensors, tensors);
  CHECK(contents.metadata.empty());
}

TEST_CASE("safetensors: scalars, empty tensors and views round-trip", "[checkpoint]") {
  anvil::test::TempDir dir;
  const at::Tensor base = at::arange(12, at::TensorOptions().dtype(at::kFloat)).reshape({3, 4});
  const StateDict tensors{
      {"scalar", at::scalar_tensor(7.5, at::TensorOptions().dtype(at::kDouble))},
      {"empty_rows", at::empty({0, 3}, at::TensorOptions().dtype(at::kFloat))},
      {"empty_cols", at::empty({2, 0}, at::TensorOptions().dtype(at::kLong))},
      {"transposed", base.t()},
      {"every_other_column", base.slice(1, 0, 4, 2)},
      {"expanded", at::arange(3, at::TensorOptions().dtype(at::kInt)).unsqueeze(0).expand({2, 3})},
      {"three_d", at::arange(24, at::TensorOptions().dtype(at::kShort)).reshape({2, 3, 4})},
      {"requires_grad",
       at::ones({2}, at::TensorOptions().dtype(at::kFloat)).set_requires_grad(true)}};
  REQUIRE_FALSE(tensors[3].second.is_contiguous());
  write_safetensors(dir.path / "shapes.safetensors", tensors);
  const auto contents = read_safetensors(dir.path / "shapes.safetensors");
  check_same(contents.tensors, tensors);
  CHECK(contents.tensors[0].second.dim() == 0);
  CHECK(contents.tensors[3].second.sizes().vec() == std::vector<std::int64_t>{4, 3});
}

TEST_CASE("safetensors: tensors read back in the order written, empty ones included",
          "[checkpoint]") {
  anvil::test::TempDir dir;
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const StateDict tensors{{"z", at::ones({2}, f32)},
                          {"e2", at::empty({0}, f32)},
                          {"e1", at::empty({0}, f32)},
                          {"a", at::zeros({1}, f32)},
                          {"m", at::empty({0, 2}, f32)}};
  write_safetensors(dir.path / "order.safetensors", tensors);
  check_same(read_safetensors(dir.path / "order.safetensors").tensors, tensors);
}

TEST_CASE("safetensors: metadata round-trips", "[checkpoint]") {
  anvil::test::TempDir dir;
  const std::map<std::string, std::string> metadata{{"format", "pt"},
                                                    {"empty", ""},
                                                    {"step", "1200"},
                                                    {"unicode", "caf\xc3\xa9 \xe2\x9c\x93"},
                                                    {"quote\"key", "a\nb"}};
  write_safetensors(dir.path / "meta.safetensors", {{"w", at::ones({2, 2})}}, metadata);
  const auto contents = read_safetensors(dir.path / "meta.safetensors");
  CHECK(contents.metadata == metadata);
  REQUIRE(contents.tensors.size() == 1);

  write_safetensors(dir.path / "only_meta.safetensors", {}, metadata);
  const auto only = read_safetensors(dir.path / "only_meta.safetensors");
  CHECK(only.metadata == metadata);
  CHECK(only.tensors.empty());
}

TEST_CASE("safetensors: the data buffer starts at a multiple of 8", "[checkpoint]") {
  anvil::test::TempDir dir;
  for (std::size_t length = 1; length <= 16; ++length) {
    const fs::path file = dir.path / ("n" + std::to_string(length) + ".safetensors");
    write_safetensors(
        file, {{std::string(length, 'x'), at::ones({3}, at::TensorOptions().dtype(at::kByte))}});
    const std::string bytes = read_bytes(file);
    std::uint64_t header_length = 0;
    std::memcpy(&header_length, bytes.data(), 8);
    INFO("name length " << length << ", header length " << header_length);
    CHECK((8 + header_length) % 8 == 0);
    CHECK(bytes.size() == 8 + header_length + 3);
    const std::string header = bytes.substr(8, header_length);
    const std::size_t close = header.rfind('}');
    CHECK(header.find_first_not_of(' ', close + 1) == std::string::npos);
    CHECK(bytes.substr(8 + header_length) == std::string(3, '\x01'));
  }
}

TEST_CASE("safetensors: a tiny file has the exact expected bytes", "[checkpoint]") {
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "tiny.safetensors";
  write_safetensors(file, {{"x", at::arange(1, 3, at::TensorOptions().dtype(at::kFloat))}});

  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE(header.size() == 54);
  header += "  ";  // padded to 56, so the data starts at 64
  const float values[2] = {1.0F, 2.0F};
  const std::string expected =
      le64(56) + header + std::string(reinterpret_cast<const char*>(values), 8);
  CHECK(read_bytes(file) == expected);
}

TEST_CASE("safetensors: the writer rejects bad names, dtypes and tensors", "[checkpoint]") {
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "bad.safetensors";
  const at::Tensor ok = at::ones({2});
  const auto message = [&](const StateDict& tensors) {
    return anvil::test::error_message([&] { write_safetensors(file, tensors); });
  };

  const std::string complex =
      message({{"ok", ok}, {"c", at::ones({2}, at::TensorOptions().dtype(at::kComplexFloat))}});
  CHECK_THAT(complex,
             Contains(file.string()) && Contains("tensor 'c'") && Contains("ComplexFloat"));
  CHECK_THAT(message({{"w", ok}, {"w", ok}}),
             Contains(file.string()) && Contains("two tensors are named 'w'"));
  CHECK_THAT(message({{"", ok}}), Contains(file.string()) && Contains("empty name"));
  CHECK_THAT(message({{"__metadata__", ok}}), Contains(file.string()) && Contains("reserves"));
  CHECK_THAT(message({{"u", at::Tensor()}}),
             Contains(file.string()) && Contains("tensor 'u' is undefined"));
  CHECK_THAT(message({{"s", ok.to_sparse()}}),
             Contains(file.string()) && Contains("tensor 's'") && Contains("dense"));
  CHECK_FALSE(fs::exists(file));  // bad input is found before the file is created

  const fs::path missing = dir.path / "no_such_folder" / "w.safetensors";
  const std::string io = anvil::test::data_error([&] { write_safetensors(missing, {{"w", ok}}); });
  CHECK_THAT(io, Contains(missing.string()) && Contains("cannot create"));
}

TEST_CASE("safetensors: the reader names the file and the problem in a broken file",
          "[checkpoint]") {
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "broken.safetensors";
  const std::string eight(8, '\0');  // two F32 zeros

  SECTION("missing file") {
    CHECK_THAT(read_error(dir.path / "absent.safetensors"),
               Contains("absent.safetensors") && Contains("cannot open"));
  }
  SECTION("shorter than 8 bytes") {
    std::ofstream(file, std::ios::binary) << "abcde";
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("5 bytes long"));
  }
  SECTION("header length past the end") {
    write_raw(file, 1000, "{}", "");
    CHECK_THAT(read_error(file),
               Contains(file.string()) && Contains("header length 1000 goes past the end"));
  }
  SECTION("header length over 100 MB") {
    write_raw(file, 200'000'000, "{}", "");
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("100 MB"));
  }
  SECTION("invalid JSON") {
    write_raw(file, R"({"w": {"dtype": )", "");
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("not valid JSON"));
  }
  SECTION("header not an object") {
    write_raw(file, "[1, 2]", "");
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("not a JSON object"));
  }
  SECTION("a name twice") {
    const std::string entry = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    write_raw(file, R"({"w":)" + entry + R"(,"w":)" + entry + "}", eight);
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("names 'w' twice"));
  }
  SECTION("entry not an object") {
    write_raw(file, R"({"w": 3})", "");
    CHECK_THAT(read_error(file),
               Contains(file.string()) && Contains("tensor 'w'") && Contains("not an object"));
  }

  struct Case {
    const char* entry;    // the JSON object for tensor 'w'
    const char* message;  // what the error must say besides the file and "tensor 'w'"
  };
  const Case cases[] = {
      {R"({"shape":[2],"data_offsets":[0,8]})", R"("dtype" is missing)"},
      {R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})", R"("dtype" is not a string)"},
      {R"({"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]})",
       R"("dtype" is "F8_E4M3", not one of)"},
      {R"({"dtype":"F32","data_offsets":[0,8]})", R"("shape" is missing)"},
      {R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})", R"("shape" is not an array)"},
      {R"({"dtype":"F32","shape":[1,-2],"data_offsets":[0,8]})",
       R"("shape"[1] is -2, a negative dimension)"},
      {R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})",
       R"("shape"[0] is 2.0, not an integer)"},
      {R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})",
       R"("shape"[0] is "2", not an integer)"},
      {R"({"dtype":"F32","shape":[4294967296,4294967296]})",
       R"("shape" [4294967296,4294967296] is too large)"},
      {R"({"dtype":"F32","shape":[2]})", R"("data_offsets" is missing)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", R"("data_offsets" is [0], not two)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,"8"]})",
       R"("data_offsets" is [0,"8"], not two)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})",
       R"("data_offsets" is [-1,7], not two)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})",
       R"("data_offsets" [8,0] ends before it begins)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})",
       R"("data_offsets" [0,4] span 4 bytes, but dtype F32 and shape [2] need 8)"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})",
       R"("data_offsets" [8,16] go past the end of the data buffer (8 bytes))"},
  };
  SECTION("a missing or ill-typed field") {
    for (const Case& c : cases) {
      INFO("entry " << c.entry);
      write_raw(file, std::string(R"({"w":)") + c.entry + "}", eight);
      CHECK_THAT(read_error(file),
                 Contains(file.string()) && Contains("tensor 'w'") && Contains(c.message));
    }
  }

  SECTION("overlapping tensors") {
    write_raw(file,
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              std::string(12, '\0'));
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("tensor 'b'") &&
                                     Contains("overlap those of tensor 'a' [0, 8)"));
  }
  SECTION("a tensor inside another") {
    write_raw(file,
              R"({"big":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
              R"("mid":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
              R"("end":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})",
              std::string(16, '\0'));
    CHECK_THAT(read_error(file),
               Contains(file.string()) && Contains("tensor 'mid'") && Contains("tensor 'big'"));
  }
  SECTION("a BOOL byte other than 0 or 1") {
    write_raw(file, R"({"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
              std::string("\x01\x00\x02", 3));
    CHECK_THAT(read_error(file), Contains(file.string()) && Contains("tensor 'flags'") &&
                                     Contains("BOOL element 2 is byte 2"));
  }
  SECTION("metadata not an object") {
    write_raw(file, R"({"__metadata__":["a"]})", "");
    CHECK_THAT(read_error(file),
               Contains(file.string()) && Contains(R"("__metadata__" is not an object)"));
  }
  SECTION("a metadata value that is not a string") {
    write_raw(file, R"({"__metadata__":{"ok":"yes","step":12}})", "");
    CHECK_THAT(read_error(file), Contains(file.string()) &&
                                     Contains(R"("__metadata__" value 'step' is not a string)"));
  }
}

TEST_CASE("safetensors: files from other writers: gaps, header order and padding", "[checkpoint]") {
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "other.safetensors";
  // Header order b, a; data order a, b with 4 unused bytes between them; no padding.
  const std::int32_t a[2] = {7, -7};
  const std::int16_t b[1] = {300};
  std::string data(reinterpret_cast<const char*>(a), 8);
  data += std::string(4, '\xff') + std::string(reinterpret_cast<const char*>(b), 2);
  write_raw(file,
            R"({"b":{"dtype":"I16","shape":[1],"data_offsets":[12,14]},)"
            R"("a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"__metadata__":{}})",
            data);
  const auto contents = read_safetensors(file);
  REQUIRE(contents.tensors.size() == 2);
  CHECK(contents.tensors[0].first == "a");
  CHECK(contents.tensors[0].second.equal(at::tensor(std::vector<std::int32_t>{7, -7})));
  CHECK(contents.tensors[1].first == "b");
  CHECK(contents.tensors[1].second.equal(at::tensor(std::vector<std::int16_t>{300})));
}

TEST_CASE("safetensors: an independent Python reader sees what C++ wrote", "[checkpoint][python]") {
  if (!have_python()) {
    WARN("python3 is not on PATH: skipped");
    return;
  }
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "for_python.safetensors";
  StateDict tensors;
  for (const auto& [type, name] : dtype_names()) tensors.emplace_back("t." + name, sample(type));
  tensors.emplace_back("scalar", at::scalar_tensor(3, at::TensorOptions().dtype(at::kLong)));
  tensors.emplace_back("empty", at::empty({0, 3}, at::TensorOptions().dtype(at::kHalf)));
  tensors.emplace_back("transposed",
                       at::arange(6, at::TensorOptions().dtype(at::kFloat)).reshape({2, 3}).t());
  write_safetensors(file, tensors, {{"format", "pt"}});

  std::map<std::string, std::string> lines;  // sorted by name, as the script prints them
  for (const auto& [name, tensor] : tensors) lines[name] = summary_line(name, tensor);
  std::string expected;
  for (const auto& [name, line] : lines) expected += line;

  const auto [output, ok] =
      run("python3 " + shell_quoted(kFixture) + " " + shell_quoted(file) + " 2>&1");
  INFO(output);
  REQUIRE(ok);
  CHECK(output == expected);
}

TEST_CASE("safetensors: C++ reads exactly what an independent Python writer wrote",
          "[checkpoint][python]") {
  if (!have_python()) {
    WARN("python3 is not on PATH: skipped");
    return;
  }
  anvil::test::TempDir dir;
  const fs::path file = dir.path / "from_python.safetensors";
  const auto [output, ok] =
      run("python3 " + shell_quoted(kFixture) + " --write " + shell_quoted(file) + " 2>&1");
  INFO(output);
  REQUIRE(ok);

  const auto contents = read_safetensors(file);
  const std::map<std::string, std::string> metadata{{"format", "pt"},
                                                    {"writer", "read_safetensors.py"}};
  CHECK(contents.metadata == metadata);
  // The script's header is sorted by name; its data is in the order b, a, c, e.
  const StateDict expected{
      {"b.ids", at::tensor(std::vector<std::int64_t>{-1, 0, (std::int64_t{1} << 40) + 7})},
      {"a.weight", at::tensor(std::vector<float>{1.5F, -2.0F, 0.0F, 3.25F}).reshape({2, 2})},
      {"c.scale", at::tensor(std::vector<float>{1.0F, -0.5F, 0.15625F}).to(at::kBFloat16)},
      {"e.step", at::scalar_tensor(42, at::TensorOptions().dtype(at::kLong))}};
  check_same(contents.tensors, expected);
}
