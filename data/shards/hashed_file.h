// A file written front to back and hashed as it is written, for the files a manifest lists (token
// shards, Zen-Omni's media) with their sizes and sha256.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "data/common/sha256.h"
#include "data/shards/shard_manifest.h"

namespace zen {

class HashedFile {
 public:
  // Creates DIR/NAME (replacing it).
  absl::Status Open(const std::string& dir, const std::string& name);
  absl::Status Write(const void* data, size_t bytes);
  // Closes it; its name, size and sha256 for the manifest.
  absl::StatusOr<ShardFile> Close();
  bool is_open() const { return file_ != nullptr; }

 private:
  std::string path_;
  ShardFile info_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_{nullptr, &std::fclose};
  std::unique_ptr<Sha256> hash_;
};

}  // namespace zen
