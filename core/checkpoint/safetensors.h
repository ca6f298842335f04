#pragma once
// safetensors files (https://github.com/huggingface/safetensors), the format of checkpoints and
// of Hugging Face exports:
//
//   8 bytes    little-endian uint64 N, the header's length
//   N bytes    UTF-8 JSON object: for each tensor, name -> {"dtype": "F32", "shape": [2, 3],
//              "data_offsets": [begin, end]} (byte offsets into the data buffer, end exclusive),
//              plus an optional "__metadata__" object of string -> string. We pad it with
//              trailing spaces so that the data buffer starts at a multiple of 8.
//   the rest   the data buffer: each tensor row-major, contiguous, little-endian
//
// Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL (the ones LibTorch 1.13 has).

#include <anvil/tensor_types.h>

#include <filesystem>
#include <map>
#include <string>

namespace anvil::core {

using StateDict = anvil::StateDict;

/// What a safetensors file holds.
struct SafetensorsContents {
  StateDict tensors;                            ///< CPU tensors, contiguous, in data order
  std::map<std::string, std::string> metadata;  ///< the "__metadata__" object, or empty
};

/// Writes `tensors` (any device, any of the dtypes above; copied to contiguous CPU memory one at
/// a time) in the given order, contiguously, and `metadata` to `path`, then fsyncs the file.
/// Throws anvil::Error naming the file and the tensor on an unsupported dtype or layout, an
/// undefined tensor, or a name that is empty, repeated or "__metadata__"; throws
/// anvil::DataError (an anvil::Error) naming the file on an I/O failure. Does not rename:
/// callers write to a temporary name and rename it once this returns.
void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// Reads a whole file into CPU tensors. They come in the order of their data offsets (ties, such
/// as empty tensors, in header order), so a file written by write_safetensors reads back in the
/// order it was written. Gaps in the data buffer are allowed; overlaps are not.
/// Throws anvil::DataError naming the file, and the tensor or field, for: a file shorter than 8
/// bytes, a header length past the end of the file (or over 100 MB), a header that is not a JSON
/// object or repeats a name, a missing or ill-typed dtype/shape/data_offsets, an unknown dtype,
/// a negative dimension, offsets whose length differs from shape x dtype size, offsets outside
/// the data buffer, overlapping tensors, a BOOL byte other than 0 or 1, a non-string metadata
/// value, or a failed read.
SafetensorsContents read_safetensors(const std::filesystem::path& path);

}  // namespace anvil::core
