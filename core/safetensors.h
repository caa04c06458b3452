// safetensors files (https://github.com/huggingface/safetensors), the checkpoint format
// of tdseg. Layout:
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a UTF-8 JSON object: each tensor name maps to
//               {"dtype": "F32" | "F64" | "I32", "shape": [d0, ...], "data_offsets": [b, e]}
//             with [b, e) relative to the data buffer below, plus an optional
//             "__metadata__" object of string -> string; padded with spaces
//   the rest  the data buffer: each tensor's raw little-endian bytes in C order
// Like the reference implementation, a reader requires the tensors to tile the data buffer
// exactly (no overlap, no gap, nothing after the last one). Every problem with a file is
// an IOError "PATH: reason" on one line.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order (by data offset)
  std::map<std::string, std::string> metadata;
};

SafetensorsFile load_safetensors(const std::string& path);

// Writes the tensors in the given order (CPU tensors, unique names other than
// "__metadata__", else a ValueError or DeviceError); the header is compact JSON with
// "__metadata__" first (omitted when empty), padded with spaces to a multiple of 8 bytes.
// Atomic: a temporary file beside `path`, then a rename; the temporary never survives.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// True when the file starts like a safetensors file, even a truncated one: a plausible
// header length, then '{' (a .npy file starts with "\x93NUMPY", an implausible length).
// Reads 9 bytes; false for a file it cannot open or shorter than that.
bool looks_like_safetensors(const std::string& path);

}  // namespace tdseg
