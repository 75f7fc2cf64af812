#include "data/common/output_folder.h"

#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace zen {
namespace fs = std::filesystem;
namespace {

// `dest` without a trailing slash, so the sibling names land beside it, not inside.
std::string Normal(const std::string& dest) {
  fs::path p = fs::path(dest).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.string();
}

}  // namespace

void RemoveTree(const std::string& path) {
  nftw(path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return std::remove(p); }, 16,
       FTW_DEPTH | FTW_PHYS);
}

absl::StatusOr<StagedFolder> StagedFolder::Begin(const std::string& dest, const std::string& flag, bool replace) {
  const std::string where = Normal(dest);
  std::error_code ec;
  if (fs::exists(where, ec) && !fs::is_directory(where, ec)) {
    return BadInput(absl::StrCat(flag, " ", dest, ": is a file, not a folder"));
  }
  if (fs::is_directory(where, ec) && !fs::is_empty(where, ec) && !replace) {
    return BadInput(absl::StrCat(flag, " ", dest, ": the folder is not empty; choose another or pass --force to "
                                 "replace it once the new one is complete"));
  }
  const fs::path parent = fs::path(where).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string tmp = absl::StrCat(where, ".tmp-", getpid());
  RemoveTree(tmp);
  if (!fs::create_directory(tmp, ec)) {
    return BadInput(absl::StrCat(flag, " ", dest, ": cannot create ", tmp, ": ", ec.message()));
  }
  return StagedFolder(where, tmp);
}

StagedFolder::StagedFolder(StagedFolder&& other) noexcept
    : dest_(std::move(other.dest_)), tmp_(std::move(other.tmp_)), pending_(other.pending_) {
  other.pending_ = false;
}

StagedFolder::~StagedFolder() {
  if (pending_) RemoveTree(tmp_);
}

absl::Status StagedFolder::Commit() {
  std::error_code ec;
  std::string old;
  if (fs::is_directory(dest_, ec) && !fs::is_empty(dest_, ec)) {
    old = absl::StrCat(dest_, ".old-", getpid());
    RemoveTree(old);
    fs::rename(dest_, old, ec);
    if (ec) return absl::InternalError(absl::StrCat(dest_, ": cannot move the old folder aside: ", ec.message()));
  }
  fs::rename(tmp_, dest_, ec);  // over an empty folder too
  if (ec) {
    if (!old.empty()) fs::rename(old, dest_);
    return absl::InternalError(absl::StrCat(tmp_, ": cannot rename to ", dest_, ": ", ec.message()));
  }
  pending_ = false;
  if (!old.empty()) RemoveTree(old);
  return absl::OkStatus();
}

}  // namespace zen
