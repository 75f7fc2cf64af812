#include "checkpoints/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "absl/strings/str_join.h"
#include "checkpoints/safetensors.h"
#include "core/fault_injection.h"  // defines: InjectedFaultFromEnvironment
#include "core/log.h"
#include "data/common/mapped_file.h"
#include "data/common/sha256.h"

namespace zen {
namespace {

constexpr char kLatest[] = "latest";

std::string StepName(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(step));
  return name;
}

std::string RankFile(int64_t rank) {
  char name[40];
  std::snprintf(name, sizeof(name), "rank-%05lld.safetensors", static_cast<long long>(rank));
  return name;
}

absl::Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": cannot open to sync"));
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? absl::OkStatus() : absl::InternalError(absl::StrCat(path, ": fsync failed (disk full?)"));
}

absl::Status WriteTextAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::InternalError(absl::StrCat(tmp, ": write failed (disk full?)"));
  }
  ZEN_RETURN_IF_ERROR(FsyncPath(tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(absl::StrCat(path, ": rename failed"));
  return absl::OkStatus();
}

std::string DtypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "F32";
    case torch::kBFloat16: return "BF16";
    case torch::kHalf: return "F16";
    case torch::kDouble: return "F64";
    case torch::kLong: return "I64";
    case torch::kInt: return "I32";
    case torch::kByte: return "U8";
    default: return "?";
  }
}

// This rank's part: its shard file and the manifest lines describing it, as a text sidecar
// (name \t dims \t split \t offset \t dtype \t bytes), so rank 0 can gather them through the file system.
absl::Status WriteRankShard(const std::string& tmp, int64_t rank, const std::vector<SavedSlice>& mine) {
  if (mine.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::ostringstream sidecar;
  for (const SavedSlice& s : mine) {
    torch::Tensor t = s.tensor.detach().cpu().contiguous();
    tensors.emplace_back(s.name, t);
    sidecar << s.name << '\t';
    for (size_t d = 0; d < s.global_shape.size(); ++d) sidecar << (d ? "," : "") << s.global_shape[d];
    sidecar << '\t' << s.split_dim << '\t' << s.offset << '\t' << DtypeName(t.scalar_type()) << '\t'
            << t.numel() * t.element_size() << '\n';
  }
  const std::string file = tmp + "/" + RankFile(rank);
  ZEN_RETURN_IF_ERROR(WriteSafetensors(file, tensors, {{"format", "pt"}}));
  ZEN_RETURN_IF_ERROR(FsyncPath(file));
  const std::string side = file + ".slices";
  std::ofstream out(side, std::ios::trunc);
  out << sidecar.str();
  if (!out.flush()) return absl::InternalError(absl::StrCat(side, ": write failed (disk full?)"));
  out.close();
  return FsyncPath(side);
}

// Rank 0: the manifest from every rank's sidecar and file.
absl::StatusOr<CheckpointManifest> GatherManifest(const std::string& tmp, const CheckpointInfo& info, int64_t world) {
  CheckpointManifest m;
  m.step = info.step, m.tokens = info.tokens, m.skipped_steps = info.skipped_steps;
  m.layout = info.layout;
  m.model_fingerprint = info.model_fingerprint;
  m.recipe = info.recipe;
  m.base_files = info.base_files;
  for (int64_t r = 0; r < world; ++r) {
    const std::string name = RankFile(r), path = tmp + "/" + name;
    std::ifstream side(path + ".slices");
    if (!side) continue;  // this rank owned nothing
    ZEN_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
    m.files.push_back({name, r, static_cast<int64_t>(file.bytes().size()), Sha256Hex(file.bytes())});
    m.bytes += m.files.back().bytes;
    std::string line;
    while (std::getline(side, line)) {
      std::istringstream fields(line);
      CheckpointSlice s;
      std::string dims;
      std::getline(fields, s.name, '\t');
      std::getline(fields, dims, '\t');
      fields >> s.split_dim >> s.offset >> s.dtype >> s.bytes;
      std::istringstream d(dims);
      for (std::string v; std::getline(d, v, ',');) s.global_shape.push_back(std::stoll(v));
      s.file = name;
      m.slices.push_back(std::move(s));
    }
    std::remove((path + ".slices").c_str());
  }
  return m;
}

// Rotation after step `saved` was committed: of the complete checkpoints up to `saved` only the newest
// `keep` remain (0 = all), so the one just saved, which `latest` names, always stays. Checkpoints newer
// than `saved` (a run resumed from an earlier one: train.resume_from) are left for the run to save over,
// and abandoned .tmp folders are removed.
void Prune(const std::string& root, int64_t keep, int64_t saved) {
  if (DIR* dir = opendir(root.c_str())) {
    while (dirent* e = readdir(dir)) {
      const std::string name = e->d_name;
      if (name.rfind(".step-", 0) == 0) RemoveTree(root + "/" + name);
    }
    closedir(dir);
  }
  if (keep <= 0) return;
  std::vector<int64_t> older;
  for (int64_t step : CompleteCheckpointSteps(root)) {
    if (step <= saved) older.push_back(step);
  }
  for (size_t i = 0; i + keep < older.size(); ++i) RemoveTree(CheckpointDir(root, older[i]));
}

// Test hook (core/fault_injection.h, killsave): this rank dies after writing its shard of the step-STEP
// checkpoint and before the checkpoint is committed, as a crash or a preempted node would.
void MaybeDieMidSave(int64_t rank, int64_t step) {
  const std::optional<InjectedFault> fault = InjectedFaultFromEnvironment();
  if (fault && fault->kind == FaultKind::kKillSave && fault->rank == rank && fault->step == step) ::raise(SIGKILL);
}

std::string TmpDir(const std::string& root, int64_t step) { return root + "/." + StepName(step) + ".tmp"; }

absl::Status BeginCheckpoint(const std::string& root, int64_t step, Communicator& world) {
  const std::string tmp = TmpDir(root, step);
  // Every rank learns whether rank 0 could prepare the folder, so a failure ends the save everywhere.
  torch::Tensor no_folder = torch::zeros({1}, torch::kLong);
  if (world.rank() == 0) {
    for (size_t slash = root.find('/', 1); slash != std::string::npos; slash = root.find('/', slash + 1)) {
      ::mkdir(root.substr(0, slash).c_str(), 0755);  // the parents (output_dir/checkpoints for .../best)
    }
    ::mkdir(root.c_str(), 0755);
    RemoveTree(tmp);
    if (::mkdir(tmp.c_str(), 0755) != 0) no_folder.fill_(1);
  }
  world.AllReduceMax(no_folder);
  if (no_folder.item<int64_t>() != 0) {
    return absl::InternalError(absl::StrCat(tmp, ": cannot create the checkpoint folder"));
  }
  return absl::OkStatus();
}

absl::Status WriteCheckpointShard(const std::string& root, int64_t step, int64_t rank,
                                  const std::vector<SavedSlice>& mine) {
  absl::Status written = WriteRankShard(TmpDir(root, step), rank, mine);
  MaybeDieMidSave(rank, step);
  return written;
}

absl::Status CommitCheckpoint(const std::string& root, const CheckpointInfo& info, Communicator& world, int64_t keep,
                              const absl::Status& written) {
  const std::string final_dir = root + "/" + StepName(info.step);
  const std::string tmp = TmpDir(root, info.step);
  torch::Tensor failed = torch::tensor({written.ok() ? int64_t{0} : int64_t{1}});
  world.AllReduceMax(failed);
  if (!written.ok()) return written;
  if (failed.item<int64_t>() != 0) return absl::InternalError("checkpoint: another rank failed to write its shard");
  absl::Status committed = absl::OkStatus();
  if (world.rank() == 0) {
    committed = [&]() -> absl::Status {
      ZEN_ASSIGN_OR_RETURN(CheckpointManifest manifest, GatherManifest(tmp, info, world.size()));
      ZEN_RETURN_IF_ERROR(WriteCheckpointManifest(tmp + "/" + kManifestName, manifest));
      if (manifest.AdapterOnly()) {
        Log0(absl::StrCat("zen: ", StepName(info.step), ": adapter-only checkpoint, ", manifest.bytes,
                          " bytes of shards (the frozen base stays in model.checkpoint)"));
      }
      ZEN_RETURN_IF_ERROR(FsyncPath(tmp));
      RemoveTree(final_dir);  // a checkpoint of the same step from an earlier attempt
      if (std::rename(tmp.c_str(), final_dir.c_str()) != 0) {
        return absl::InternalError(absl::StrCat(final_dir, ": cannot rename the finished checkpoint into place"));
      }
      ZEN_RETURN_IF_ERROR(FsyncPath(root));
      ZEN_RETURN_IF_ERROR(WriteTextAtomically(root + "/" + kLatest, StepName(info.step) + "\n"));
      ZEN_RETURN_IF_ERROR(FsyncPath(root));
      Prune(root, keep, info.step);
      return absl::OkStatus();
    }();
  }
  torch::Tensor commit_failed = torch::tensor({committed.ok() ? int64_t{0} : int64_t{1}});
  world.AllReduceMax(commit_failed);
  if (!committed.ok()) return committed;
  if (commit_failed.item<int64_t>() != 0) return absl::InternalError("checkpoint: rank 0 could not commit it");
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveCheckpoint(const std::string& root, const CheckpointInfo& info, const std::vector<SavedSlice>& mine,
                            Communicator& world, int64_t keep) {
  ZEN_RETURN_IF_ERROR(BeginCheckpoint(root, info.step, world));
  const absl::Status written = WriteCheckpointShard(root, info.step, world.rank(), mine);
  return CommitCheckpoint(root, info, world, keep, written);
}

AsyncCheckpointWriter::~AsyncCheckpointWriter() {
  if (writer_.joinable()) writer_.join();
}

absl::Status AsyncCheckpointWriter::Start(const std::string& root, const CheckpointInfo& info,
                                          const std::vector<SavedSlice>& mine, Communicator& world, int64_t keep) {
  ZEN_RETURN_IF_ERROR(Finish());
  // The copy of the state: the training step may change the live tensors while the file is written.
  std::vector<SavedSlice> copy;
  for (const SavedSlice& s : mine) {
    copy.push_back({s.name, s.tensor.detach().to(torch::kCPU).clone(), s.global_shape, s.split_dim, s.offset});
  }
  ZEN_RETURN_IF_ERROR(BeginCheckpoint(root, info.step, world));
  root_ = root, info_ = info, world_ = &world, keep_ = keep;
  writer_ = std::thread([this, copy = std::move(copy)] {
    written_ = WriteCheckpointShard(root_, info_.step, world_->rank(), copy);
  });
  return absl::OkStatus();
}

absl::Status AsyncCheckpointWriter::Finish() {
  if (!writer_.joinable()) return absl::OkStatus();
  writer_.join();
  return CommitCheckpoint(root_, info_, *world_, keep_, written_);
}

std::string CheckpointDir(const std::string& root, int64_t step) { return root + "/" + StepName(step); }

std::vector<int64_t> CompleteCheckpointSteps(const std::string& root) {
  std::vector<int64_t> steps;
  if (DIR* dir = opendir(root.c_str())) {
    while (dirent* e = readdir(dir)) {
      long long step = -1;
      char rest = 0;
      if (std::sscanf(e->d_name, "step-%lld%c", &step, &rest) != 1 || step < 0) continue;
      if (access(CheckpointDir(root, step).append("/").append(kManifestName).c_str(), F_OK) == 0) {
        steps.push_back(step);
      }
    }
    closedir(dir);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

absl::StatusOr<std::string> LatestCheckpoint(const std::string& root) {
  std::ifstream latest(root + "/" + kLatest);
  const bool exists = latest.is_open();
  std::string name;
  const bool named = exists && std::getline(latest, name) && !name.empty();
  if (named && name.find('/') == std::string::npos &&
      access((root + "/" + name + "/" + kManifestName).c_str(), F_OK) == 0) {
    return root + "/" + name;
  }
  const std::vector<int64_t> complete = CompleteCheckpointSteps(root);
  if (complete.empty()) return absl::NotFoundError(absl::StrCat(root, ": no complete checkpoint"));
  // A pointer lost or damaged (an empty file after a full disk, hand editing): the newest complete
  // checkpoint is what it would have named, never an older one.
  const std::string why = !exists ? "is missing"
                          : named ? absl::StrCat("names ", name, ", which is no complete checkpoint")
                                  : "is empty";
  const std::string found = CheckpointDir(root, complete.back());
  Log0(absl::StrCat("zen: ", root, "/", kLatest, " ", why, "; using the newest complete checkpoint found by "
                    "scanning, ", found));
  return found;
}

std::string EarlierCheckpointAdvice(const std::string& dir) {
  const size_t slash = dir.find_last_of('/');
  const std::string root = slash == std::string::npos ? "." : dir.substr(0, slash);
  long long step = -1;
  char rest = 0;
  if (std::sscanf(dir.c_str() + (slash == std::string::npos ? 0 : slash + 1), "step-%lld%c", &step, &rest) != 1) {
    step = std::numeric_limits<long long>::max();  // not a step folder (best/, another run's): all are earlier
  }
  std::vector<std::string> earlier;
  for (int64_t s : CompleteCheckpointSteps(root)) {
    if (s < step) earlier.push_back(absl::StrCat(s));
  }
  if (earlier.empty()) {
    return "no earlier complete checkpoint is left to resume from (train.resume_from=STEP|PATH names one)";
  }
  return absl::StrCat("resume from an earlier checkpoint with train.resume_from=STEP (complete ones in ", root,
                      ": step ", absl::StrJoin(earlier, ", "), ")");
}

absl::StatusOr<CheckpointReader> CheckpointReader::Open(const std::string& dir) {
  CheckpointReader reader;
  reader.dir_ = dir;
  absl::StatusOr<CheckpointManifest> manifest = ReadCheckpointManifest(dir + "/" + kManifestName);
  if (!manifest.ok()) return BadInput(absl::StrCat(manifest.status().message(), "; ", EarlierCheckpointAdvice(dir)));
  reader.manifest_ = *std::move(manifest);
  for (const CheckpointSlice& s : reader.manifest_.slices) reader.slices_[s.name].push_back(s);
  return reader;
}

absl::StatusOr<const std::map<std::string, torch::Tensor>*> CheckpointReader::File(const std::string& name) {
  auto cached = files_.find(name);
  if (cached != files_.end()) return &cached->second;
  const std::string path = dir_ + "/" + name;
  auto entry = std::find_if(manifest_.files.begin(), manifest_.files.end(),
                            [&](const CheckpointFile& f) { return f.name == name; });
  if (entry == manifest_.files.end()) return BadInput(absl::StrCat(path, ": not listed in the manifest"));
  ZEN_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::Open(path));
  if (static_cast<int64_t>(mapped.bytes().size()) != entry->bytes || Sha256Hex(mapped.bytes()) != entry->sha256) {
    return BadInput(absl::StrCat(path, ": size or sha256 differs from ", kManifestName,
                                 " (a truncated or corrupt shard); ", EarlierCheckpointAdvice(dir_)));
  }
  ZEN_ASSIGN_OR_RETURN(auto tensors, ReadSafetensors(path));
  return &files_.emplace(name, std::move(tensors)).first->second;
}

absl::StatusOr<torch::Tensor> CheckpointReader::Full(const std::string& name) {
  auto found = slices_.find(name);
  if (found == slices_.end()) return BadInput(absl::StrCat(dir_, ": the checkpoint has no tensor ", name));
  std::vector<CheckpointSlice> pieces = found->second;
  std::sort(pieces.begin(), pieces.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
  std::vector<torch::Tensor> parts;
  int64_t covered = 0;
  for (const CheckpointSlice& s : pieces) {
    ZEN_ASSIGN_OR_RETURN(const auto* tensors, File(s.file));
    auto t = tensors->find(s.name);
    if (t == tensors->end()) return BadInput(absl::StrCat(dir_, "/", s.file, ": lacks ", s.name));
    if (s.split_dim < 0) return t->second;
    if (s.offset != covered) continue;  // a duplicate slice (replicas) or a gap, caught below
    parts.push_back(t->second);
    covered += t->second.size(s.split_dim);
  }
  const CheckpointSlice& first = pieces.front();
  if (covered != first.global_shape[first.split_dim]) {
    return BadInput(absl::StrCat(dir_, ": the slices of ", name, " cover ", covered, " of ",
                                 first.global_shape[first.split_dim], " along dim ", first.split_dim));
  }
  return torch::cat(parts, first.split_dim);
}

}  // namespace zen
