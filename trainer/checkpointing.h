// What a rank saves into and takes back from a checkpoint (checkpoints/checkpoint.h does the files):
//   model/<param>          every parameter, frozen ones included, written once: by dp rank 0 (edp rank 0
//                          for routed experts), tp rank 0 for unsplit ones, each tp rank its slice of split
//                          ones, the first stage for a tied embedding;
//   optim/<param>.exp_avg, .exp_avg_sq, .step   AdamW's state, by the same rule (under ZeRO-1 by its owner);
//   state/<buffer>         buffers that are training state (an MoE layer's router_bias, models/moe.h), whole,
//                          written like a whole parameter;
//   rng/rank-<r>           each rank's torch generator state.
// Adapter-only (SavesAdaptersOnly: LoRA on a model.checkpoint base): model/ holds only the trainable
// parameters, and the manifest the base's fingerprint (checkpoints/base_fingerprint.h); resume and export
// read the frozen base from model.checkpoint again, after checking it is the same.
// Loading assembles each whole tensor and keeps this rank's slice, so the layout may differ from the
// one that saved (resharding); the generators are restored only when it does not.
#pragma once

#include <string>

#include "checkpoints/checkpoint.h"
#include "trainer/train_state.h"

namespace zen {

// LoRA on a frozen base from model.checkpoint: checkpoints hold the adapters, not the base.
bool SavesAdaptersOnly(const Recipe& recipe);

// sha256 over the model's shapes and the LoRA settings: a checkpoint of another model is refused.
std::string ModelFingerprint(const Recipe& recipe);

// BadInput naming the manifest unless `reader`'s checkpoint is of `recipe`'s model and LoRA setup;
// `advice` ends the message (what to do instead).
absl::Status CheckSameModel(const CheckpointReader& reader, const Recipe& recipe, const std::string& advice);

// The checkpoint folder a run of `recipe` continues from: train.resume_from (a step under
// output_dir/checkpoints, or a checkpoint folder) when set, else LatestCheckpoint's. NotFound when there
// is none to continue from; BadInput naming train.resume_from when what it names is no complete checkpoint.
absl::StatusOr<std::string> CheckpointToResume(const Recipe& recipe);

// Collective: saves step `step` (steps done) under output_dir/checkpoints, keeping checkpoint.keep.
// With checkpoint.async it copies the state and returns; the previous pending save commits first.
absl::Status SaveTrainingCheckpoint(TrainState& s, int64_t step, int64_t skipped_steps);

// eval.keep_best: the state as a complete checkpoint under output_dir/checkpoints/best (only the newest
// kept), loadable like any other checkpoint folder.
absl::Status SaveBestCheckpoint(TrainState& s, int64_t step, int64_t skipped_steps);

// With checkpoint.async the save above only starts; this commits it (collective; OK when none is pending).
absl::Status FinishCheckpoint(TrainState& s);

// Loads `reader`'s checkpoint into this rank's model and optimizer. BadInput naming the manifest when it
// belongs to another model.
absl::Status LoadTrainingCheckpoint(TrainState& s, CheckpointReader& reader);

}  // namespace zen
