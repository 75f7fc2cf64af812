#include "data/shards/hashed_file.h"

namespace zen {

absl::Status HashedFile::Open(const std::string& dir, const std::string& name) {
  path_ = dir + "/" + name;
  info_ = ShardFile{name, 0, ""};
  file_.reset(std::fopen(path_.c_str(), "wb"));
  if (!file_) return absl::InternalError(absl::StrCat(path_, ": cannot create"));
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
  hash_ = std::make_unique<Sha256>();
  return absl::OkStatus();
}

absl::Status HashedFile::Write(const void* data, size_t bytes) {
  if (std::fwrite(data, 1, bytes, file_.get()) != bytes) {
    return absl::InternalError(absl::StrCat(path_, ": write failed (disk full?)"));
  }
  hash_->Update({static_cast<const char*>(data), bytes});
  info_.bytes += static_cast<int64_t>(bytes);
  return absl::OkStatus();
}

absl::StatusOr<ShardFile> HashedFile::Close() {
  if (std::fclose(file_.release()) != 0) return absl::InternalError(absl::StrCat(path_, ": close failed"));
  info_.sha256 = hash_->HexDigest();
  return info_;
}

}  // namespace zen
