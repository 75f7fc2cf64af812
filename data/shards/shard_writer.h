// Appends tokenized documents to shard files (layout in data/shards/shard_manifest.h), hashing as it writes,
// and starts a new shard once one holds `tokens_per_shard` tokens.
#pragma once

#include <string>
#include <vector>

#include "data/shards/document.h"
#include "data/shards/hashed_file.h"
#include "data/shards/shard_manifest.h"

namespace zen {

class ShardWriter {
 public:
  ShardWriter(std::string dir, int64_t tokens_per_shard);
  ~ShardWriter();

  absl::Status Add(const TokenizedDocument& doc);
  // Closes the last shard; the entries go into the manifest.
  absl::StatusOr<std::vector<ShardEntry>> Finish();

 private:
  absl::Status Open();
  absl::Status Close();

  std::string dir_;
  int64_t tokens_per_shard_;
  std::vector<ShardEntry> done_;
  bool open_ = false;
  HashedFile ids_, mask_, docs_;
  ShardEntry current_;
  std::vector<uint32_t> ids_buffer_;
};

}  // namespace zen
