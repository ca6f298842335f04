#include "checkpoint/safetensors.h"

#include "io/durable_file.h"

#include <anvil/errors.h>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace anvil::core {

// Tensors are copied to and from the file as raw native bytes.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr const char* kDamagedHint =
    "the file is damaged or is not a safetensors file; write it again from its source";

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
};

constexpr std::array<DtypeInfo, 10> kDtypes{{{"F64", at::kDouble},
                                             {"F32", at::kFloat},
                                             {"F16", at::kHalf},
                                             {"BF16", at::kBFloat16},
                                             {"I64", at::kLong},
                                             {"I32", at::kInt},
                                             {"I16", at::kShort},
                                             {"I8", at::kChar},
                                             {"U8", at::kByte},
                                             {"BOOL", at::kBool}}};

const char* dtype_name(at::ScalarType type) {
  for (const auto& dtype : kDtypes)
    if (dtype.type == type) return dtype.name;
  return nullptr;
}

std::optional<at::ScalarType> dtype_from_name(const std::string& name) {
  for (const auto& dtype : kDtypes)
    if (name == dtype.name) return dtype.type;
  return std::nullopt;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::string system_error_text(int error) { return std::generic_category().message(error); }

// ---- writing ----


/// Every name is non-empty and unique, and every tensor is a dense tensor of a known dtype:
/// checked before the file is created, so bad input leaves no partial file behind.
void check_writable(const fs::path& path, const StateDict& tensors) {
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = "cannot write safetensors file " + quoted(path) + ": ";
    if (name.empty()) throw Error(where + "a tensor has an empty name");
    if (name == kMetadataKey)
      throw Error(where + "a tensor is named '" + name + "', which the format reserves");
    if (!names.insert(name).second) throw Error(where + "two tensors are named '" + name + "'");
    if (!tensor.defined()) throw Error(where + "tensor '" + name + "' is undefined");
    if (tensor.layout() != at::kStrided)
      throw Error(where + "tensor '" + name + "' is not a dense (strided) tensor");
    if (dtype_name(tensor.scalar_type()) == nullptr)
      throw Error(where + "tensor '" + name + "' has dtype " +
                      std::string(c10::toString(tensor.scalar_type())) +
                      ", which safetensors files here do not hold",
                  "supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL");
  }
}

/// The JSON header, padded with spaces to make 8 + its length a multiple of 8.
std::string make_header(const fs::path& path, const StateDict& tensors,
                        const std::map<std::string, std::string>& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::uint64_t bytes = tensor.numel() * tensor.element_size();
    header[name] = ordered_json{{"dtype", dtype_name(tensor.scalar_type())},
                                {"shape", tensor.sizes().vec()},
                                {"data_offsets", ordered_json::array({offset, offset + bytes})}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& error) {
    throw Error("cannot write safetensors file " + quoted(path) +
                ": a tensor name or metadata string is not valid UTF-8 (" + error.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// ---- reading ----

/// One header entry, checked against the data buffer.
struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

/// Reads and checks the header; knows the file's name for every error it throws.
class HeaderReader {
 public:
  explicit HeaderReader(const fs::path& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw DataError("safetensors file " + quoted(path_) + ": " + message, kDamagedHint);
  }
  [[noreturn]] void fail_tensor(const std::string& name, const std::string& message) const {
    fail("tensor '" + name + "': " + message);
  }

  /// Parses the header text; rejects anything but an object, and repeated top-level names
  /// (the JSON parser would otherwise keep one of them silently).
  ordered_json parse(const std::string& text) const {
    std::string repeated;
    std::set<std::string> seen;
    const ordered_json::parser_callback_t on_event =
        [&](int depth, nlohmann::json::parse_event_t event, ordered_json& parsed) {
          if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
              !seen.insert(parsed.get<std::string>()).second && repeated.empty())
            repeated = parsed.get<std::string>();
          return true;
        };
    ordered_json header;
    try {
      header = ordered_json::parse(text, on_event);
    } catch (const nlohmann::json::exception& error) {
      fail(std::string("the header is not valid JSON: ") + error.what());
    }
    if (!header.is_object()) fail("the header is not a JSON object");
    if (!repeated.empty()) fail("the header names '" + repeated + "' twice");
    return header;
  }

  std::map<std::string, std::string> metadata(const ordered_json& value) const {
    if (!value.is_object()) fail("\"__metadata__\" is not an object of strings");
    std::map<std::string, std::string> result;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string()) fail("\"__metadata__\" value '" + key + "' is not a string");
      result.emplace(key, item.get<std::string>());
    }
    return result;
  }

  Entry entry(const std::string& name, const ordered_json& value, std::uint64_t data_bytes) const {
    if (!value.is_object()) fail_tensor(name, "the entry is not an object");
    Entry entry{name, at::kFloat, {}, 0, 0};

    const auto dtype = value.find("dtype");
    if (dtype == value.end()) fail_tensor(name, "\"dtype\" is missing");
    if (!dtype->is_string()) fail_tensor(name, "\"dtype\" is not a string");
    const auto type = dtype_from_name(dtype->get<std::string>());
    if (!type)
      fail_tensor(name, "\"dtype\" is \"" + dtype->get<std::string>() +
                            "\", not one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL");
    entry.type = *type;

    const auto shape = value.find("shape");
    if (shape == value.end()) fail_tensor(name, "\"shape\" is missing");
    if (!shape->is_array()) fail_tensor(name, "\"shape\" is not an array");
    std::uint64_t bytes = c10::elementSize(entry.type);
    for (std::size_t i = 0; i < shape->size(); ++i) {
      const ordered_json& dim = (*shape)[i];
      const std::string field = "\"shape\"[" + std::to_string(i) + "]";
      if (dim.is_number_integer() && !dim.is_number_unsigned())
        fail_tensor(name, field + " is " + dim.dump() + ", a negative dimension");
      if (!dim.is_number_unsigned())
        fail_tensor(name, field + " is " + dim.dump() + ", not an integer");
      const std::uint64_t size = dim.get<std::uint64_t>();
      if (size > static_cast<std::uint64_t>(INT64_MAX) ||
          __builtin_mul_overflow(bytes, size, &bytes))
        fail_tensor(name, "\"shape\" " + shape->dump() + " is too large");
      entry.shape.push_back(static_cast<std::int64_t>(size));
    }

    const auto offsets = value.find("data_offsets");
    if (offsets == value.end()) fail_tensor(name, "\"data_offsets\" is missing");
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      fail_tensor(name,
                  "\"data_offsets\" is " + offsets->dump() + ", not two non-negative integers");
    entry.begin = (*offsets)[0].get<std::uint64_t>();
    entry.end = (*offsets)[1].get<std::uint64_t>();
    if (entry.end < entry.begin)
      fail_tensor(name, "\"data_offsets\" " + offsets->dump() + " ends before it begins");
    if (entry.end - entry.begin != bytes)
      fail_tensor(name, "\"data_offsets\" " + offsets->dump() + " span " +
                            std::to_string(entry.end - entry.begin) + " bytes, but dtype " +
                            dtype->get<std::string>() + " and shape " + shape->dump() + " need " +
                            std::to_string(bytes));
    if (entry.end > data_bytes)
      fail_tensor(name, "\"data_offsets\" " + offsets->dump() +
                            " go past the end of the data buffer (" + std::to_string(data_bytes) +
                            " bytes)");
    return entry;
  }

 private:
  const fs::path& path_;
};

}  // namespace

void write_safetensors(const fs::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  check_writable(path, tensors);
  const std::string header = make_header(path, tensors, metadata);

  DurableFile file(path, "safetensors file",
                   "check that the folder exists and is writable and that the disk is not full");
  const std::uint64_t length = header.size();
  file.write(&length, sizeof length);
  file.write(header.data(), header.size());
  for (const auto& [name, tensor] : tensors) {
    // One tensor at a time on the CPU, so a GPU state dict never needs a full host copy.
    const at::Tensor host = tensor.cpu().contiguous();
    if (host.numel() > 0) file.write(host.data_ptr(), host.nbytes());
  }
  file.sync_and_close();
}

SafetensorsContents read_safetensors(const fs::path& path) {
  const HeaderReader reader(path);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw DataError("cannot open safetensors file " + quoted(path) + ": " +
                    system_error_text(errno));
  std::error_code size_error;
  const std::uint64_t file_bytes = fs::file_size(path, size_error);
  if (size_error) reader.fail("cannot read its size: " + size_error.message());

  if (file_bytes < 8)
    reader.fail("the file is " + std::to_string(file_bytes) +
                " bytes long, shorter than the 8-byte header length");
  std::uint64_t header_bytes = 0;
  if (!in.read(reinterpret_cast<char*>(&header_bytes), sizeof header_bytes))
    reader.fail("cannot read the header length");
  if (header_bytes > kMaxHeaderBytes)
    reader.fail("the header length " + std::to_string(header_bytes) + " is over the 100 MB limit");
  if (header_bytes > file_bytes - 8)
    reader.fail("the header length " + std::to_string(header_bytes) +
                " goes past the end of the file (" + std::to_string(file_bytes) + " bytes)");
  std::string text(header_bytes, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_bytes)))
    reader.fail("cannot read the header");

  const ordered_json header = reader.parse(text);
  const std::uint64_t data_start = 8 + header_bytes;
  const std::uint64_t data_bytes = file_bytes - data_start;
  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey)
      contents.metadata = reader.metadata(value);
    else
      entries.push_back(reader.entry(name, value, data_bytes));
  }

  // Data order (header order for ties); then no tensor may start before the previous one ends.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* previous = nullptr;  // the non-empty tensor that ends last so far
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;
    if (previous != nullptr && entry.begin < previous->end)
      reader.fail_tensor(entry.name, "its bytes [" + std::to_string(entry.begin) + ", " +
                                         std::to_string(entry.end) + ") overlap those of tensor '" +
                                         previous->name + "' [" + std::to_string(previous->begin) +
                                         ", " + std::to_string(previous->end) + ")");
    if (previous == nullptr || entry.end > previous->end) previous = &entry;
  }

  for (const Entry& entry : entries) {
    at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(entry.type));
    const std::uint64_t bytes = entry.end - entry.begin;
    if (bytes > 0) {
      char* target = static_cast<char*>(tensor.data_ptr());
      in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
      if (!in.read(target, static_cast<std::streamsize>(bytes)))
        reader.fail_tensor(entry.name, "cannot read its " + std::to_string(bytes) + " bytes");
      // A bool other than 0 or 1 is undefined behaviour in C++ and in LibTorch's kernels.
      if (entry.type == at::kBool) {
        const auto bad =
            std::find_if(target, target + bytes, [](char byte) { return byte != 0 && byte != 1; });
        if (bad != target + bytes)
          reader.fail_tensor(entry.name,
                             "BOOL element " + std::to_string(bad - target) + " is byte " +
                                 std::to_string(static_cast<unsigned char>(*bad)) + ", not 0 or 1");
      }
    }
    contents.tensors.emplace_back(entry.name, std::move(tensor));
  }
  return contents;
}

}  // namespace anvil::core
