// Output folders that appear whole or not at all (`zen export --out`, `zen data prepare --output`): the
// command writes into a sibling folder DEST.tmp-PID, renamed to DEST only once everything is written. A
// failure leaves DEST as it was (and no temporary folder); a crash leaves at most the DEST.tmp-PID folder.
#pragma once

#include <string>

#include "core/status.h"

namespace zen {

class StagedFolder {
 public:
  // BadInput naming `flag` when `dest` exists and is not an empty folder, unless `replace` (--force), which
  // replaces it at Commit; creates the temporary folder (and dest's parents).
  static absl::StatusOr<StagedFolder> Begin(const std::string& dest, const std::string& flag, bool replace);

  StagedFolder(StagedFolder&& other) noexcept;
  StagedFolder& operator=(StagedFolder&&) = delete;
  StagedFolder(const StagedFolder&) = delete;
  ~StagedFolder();  // removes the temporary folder unless committed

  const std::string& path() const { return tmp_; }  // where the command writes
  const std::string& dest() const { return dest_; }

  // Renames the temporary folder to dest. An old dest (with --force) is moved aside first and removed only
  // after the rename succeeded.
  absl::Status Commit();

 private:
  StagedFolder(std::string dest, std::string tmp) : dest_(std::move(dest)), tmp_(std::move(tmp)) {}
  std::string dest_, tmp_;
  bool pending_ = true;
};

// Removes a folder and everything in it (nftw; std::filesystem::remove_all crashes with the torch wheel).
void RemoveTree(const std::string& path);

}  // namespace zen
