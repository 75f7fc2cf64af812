// Sharded training checkpoints. Every rank writes only the slices it owns into its own safetensors file;
// rank 0 then writes a protobuf manifest (checkpoints/manifest.h) naming, for every slice, its tensor's
// global shape, the dim it was cut from and where, and each file's size and sha256. So a checkpoint
// saved under one layout loads under any other: a reader assembles whole tensors from their slices and
// each rank keeps its own new slice.
//
// On disk, under `root` (output_dir/checkpoints):
//   step-00000042/  rank-00000.safetensors ... manifest.pb     a complete checkpoint
//   .step-00000042.tmp/                                         one being written (or abandoned by a crash)
//   latest                                                      "step-00000042", replaced atomically
// A save writes into the .tmp folder, fsyncs every file, writes the manifest last, renames the folder and
// only then replaces `latest`. A crash (even kill -9) at any moment leaves the previous checkpoint and
// `latest` as they were.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "checkpoints/manifest.h"
#include "core/status.h"
#include "data/common/output_folder.h"  // defines: RemoveTree
#include "parallel/communicator.h"

namespace zen {

// A tensor, or this rank's slice of it, to save: `tensor` is cut from the whole along `split_dim`
// (-1: it is the whole) starting at `offset`.
struct SavedSlice {
  std::string name;
  torch::Tensor tensor;
  std::vector<int64_t> global_shape;
  int64_t split_dim = -1;
  int64_t offset = 0;
};

// What the manifest records besides the slices.
struct CheckpointInfo {
  int64_t step = 0, tokens = 0, skipped_steps = 0;
  CheckpointLayout layout;
  std::string model_fingerprint;
  std::string recipe;
  std::vector<BaseFile> base_files;  // adapter-only: the frozen base it needs (empty: self-contained)
};

// Collective over `world`: every rank passes the slices it owns (possibly none). Keeps the newest `keep`
// complete checkpoints up to this step (0 = all), this one always; newer ones (left by a run that resumed
// from an earlier checkpoint) stay until the run saves over them. Errors name the file.
absl::Status SaveCheckpoint(const std::string& root, const CheckpointInfo& info, const std::vector<SavedSlice>& mine,
                            Communicator& world, int64_t keep);

// The same save in the background (checkpoint.async): Start copies the slices (so training may go on
// changing the live tensors) and the rank writes its file on a thread; the collective commit (manifest,
// rename, latest) runs on the calling thread at Finish, which the next Start and the end of training
// call. Until then the previous checkpoint stays `latest`.
class AsyncCheckpointWriter {
 public:
  AsyncCheckpointWriter() = default;
  AsyncCheckpointWriter(const AsyncCheckpointWriter&) = delete;
  AsyncCheckpointWriter& operator=(const AsyncCheckpointWriter&) = delete;
  ~AsyncCheckpointWriter();

  absl::Status Start(const std::string& root, const CheckpointInfo& info, const std::vector<SavedSlice>& mine,
                     Communicator& world, int64_t keep);
  absl::Status Finish();  // collective; OK when nothing is pending

 private:
  std::thread writer_;
  absl::Status written_;
  std::string root_;
  CheckpointInfo info_;
  Communicator* world_ = nullptr;
  int64_t keep_ = 0;
};

// The folder `latest` names under root. When `latest` is missing, empty or names no complete checkpoint,
// the newest complete checkpoint found by scanning, said on stderr; NotFound when there is none.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& root);

// root/step-XXXXXXXX, and the steps of the complete checkpoints under root (those holding a manifest),
// ascending.
std::string CheckpointDir(const std::string& root, int64_t step);
std::vector<int64_t> CompleteCheckpointSteps(const std::string& root);

// What to do about an unreadable checkpoint folder: resume with train.resume_from from one of the complete
// checkpoints before it (listed), or that none is left. Ends the messages of a corrupt checkpoint.
std::string EarlierCheckpointAdvice(const std::string& dir);

class CheckpointReader {
 public:
  // Reads and checks the manifest of a checkpoint folder (BadInput naming it when missing or corrupt).
  static absl::StatusOr<CheckpointReader> Open(const std::string& dir);

  const CheckpointManifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }
  bool Has(const std::string& name) const { return slices_.count(name) > 0; }

  // The whole tensor `name`, assembled from its slices. Each file is checked against its size and
  // sha256 the first time it is read: a mismatch is BadInput naming the file.
  absl::StatusOr<torch::Tensor> Full(const std::string& name);

 private:
  absl::StatusOr<const std::map<std::string, torch::Tensor>*> File(const std::string& file);

  std::string dir_;
  CheckpointManifest manifest_;
  std::map<std::string, std::vector<CheckpointSlice>> slices_;     // name -> its slices
  std::map<std::string, std::map<std::string, torch::Tensor>> files_;  // opened, checked files
};

}  // namespace zen
