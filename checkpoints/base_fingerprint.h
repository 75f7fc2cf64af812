// The fingerprint of a frozen base (model.checkpoint, a Hugging Face folder) that an adapter-only checkpoint
// records instead of the base's weights, so that resume and export can refuse a base that changed since.
// Cheap at any size: per weight file (checkpoints/hf_checkpoint.h: HfWeightFiles) its size, the sha256 of
// its safetensors header (every tensor's name, dtype, shape and offset) and the sha256 of 16 blocks of
// 64 KiB spread evenly over it (the whole file when smaller): about 1 MiB read per file, never the whole
// weights (a 900 GB base in 200 shards: 200 MiB). A change that keeps every size, header and sampled block
// (a few weights edited in place between the samples) goes unnoticed: the price of not hashing 900 GB.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "checkpoints/checkpoint.h"  // defines: CheckpointReader
#include "checkpoints/manifest.h"    // defines: BaseFile

namespace zen {

// Every weight file of `folder`, fingerprinted. BadInput naming the file when one cannot be read.
absl::StatusOr<std::vector<BaseFile>> FingerprintHfFolder(const std::string& folder);

// OK when `now` (FingerprintHfFolder of model.checkpoint) matches `saved` (a checkpoint's); else BadInput
// naming model.checkpoint's file and what differs (missing, new, size, header or contents), and
// `checkpoint`, the folder that recorded `saved`.
absl::Status CheckSameBase(const std::string& folder, const std::vector<BaseFile>& now,
                           const std::vector<BaseFile>& saved, const std::string& checkpoint);

// For `reader`'s checkpoint: OK when it is self-contained, or adapter-only and `base_folder` (the recipe's
// model.checkpoint) still is the base it was trained on. BadInput naming model.checkpoint otherwise.
absl::Status CheckBaseOf(const CheckpointReader& reader, const std::string& base_folder);

}  // namespace zen
