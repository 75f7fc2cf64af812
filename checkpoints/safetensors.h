// The safetensors format, by hand: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, ...}
// then the raw little-endian data, each tensor at [b, e) of the data that follows the header.
// dtypes: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U8 BOOL.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zen {

struct SafetensorsContents {
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors, shapes and dtypes as stored
  std::map<std::string, std::string> metadata;   // "__metadata__", empty when absent
};

// Maps the file into memory: the tensors are copy-on-write views of the mapping (a tensor whose data is
// not aligned to its element size is copied), so only what is used is read from disk, and the mapping
// lives as long as any tensor. A truncated file, a bad header or offsets out of range are BadInput
// naming the file.
absl::StatusOr<SafetensorsContents> ReadSafetensorsFile(const std::string& path);

// The tensors of ReadSafetensorsFile.
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path);

// Writes `tensors` (any device; stored contiguous, in this order) and `metadata`, through a temporary
// file renamed into place so a reader never sees half a file. The header is padded with spaces to a
// multiple of 8 bytes, as the reference implementation does, so the data is aligned.
absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace zen
