// The checkpoint manifest as plain structs, read and written as protobuf (checkpoint_manifest.proto) by
// a library built apart from torch, whose include folder carries an older google/protobuf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zen {

struct CheckpointSlice {
  std::string name;
  std::vector<int64_t> global_shape;
  int32_t split_dim = -1;
  int64_t offset = 0;
  std::string file;
  std::string dtype;
  int64_t bytes = 0;
};

struct CheckpointFile {
  std::string name;
  int64_t rank = 0;
  int64_t bytes = 0;
  std::string sha256;
};

struct CheckpointLayout {
  int64_t world = 1, tp = 1, pp = 1, dp = 1, ep = 1, zero = 0;
  bool operator==(const CheckpointLayout& o) const {
    return world == o.world && tp == o.tp && pp == o.pp && dp == o.dp && ep == o.ep && zero == o.zero;
  }
};

// A file of the frozen base an adapter-only checkpoint was trained on (checkpoints/base_fingerprint.h).
struct BaseFile {
  std::string name;
  int64_t bytes = 0;
  std::string header_sha256;
  std::string sample_sha256;
};

struct CheckpointManifest {
  std::string format = "zen-checkpoint-1";
  int64_t step = 0, tokens = 0, skipped_steps = 0;
  CheckpointLayout layout;
  std::string model_fingerprint;
  std::string recipe;
  std::vector<CheckpointFile> files;
  std::vector<CheckpointSlice> slices;
  std::vector<BaseFile> base_files;  // adapter-only: the base (model.checkpoint) it needs; empty: self-contained
  int64_t bytes = 0;                 // the shard files' total size
  bool AdapterOnly() const { return !base_files.empty(); }
};

inline constexpr char kManifestName[] = "manifest.pb";

// Writes `path` (fsync'd). IoError naming the path on failure.
absl::Status WriteCheckpointManifest(const std::string& path, const CheckpointManifest& manifest);
// BadInput naming the path when it is missing, truncated or not a zen checkpoint manifest.
absl::StatusOr<CheckpointManifest> ReadCheckpointManifest(const std::string& path);

}  // namespace zen
