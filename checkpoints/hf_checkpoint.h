// Hugging Face weights in and out: a folder with model.safetensors, or with the shards that
// model.safetensors.index.json's weight_map lists. Names are the model's own parameter names, which
// models/ keeps identical to transformers' (model.layers.0.self_attn.q_proj.weight, ...).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// Copies every parameter of `model` (except LoRA adapters) from the folder's files, cast to the
// parameter's dtype and device. Under tensor parallelism each rank takes its own slice, along the dim
// its ParamInfo::split_dim (parallel/param_info.h); files are memory-mapped, so a rank reads
// only its slices. A parameter missing from the files or of the wrong shape is BadInput naming it;
// tensors the model does not hold (lm_head.weight of a tied model, another stage's layers) are ignored.
absl::Status LoadHfWeights(const std::string& folder, torch::nn::Module& model, const TpGroup& tp);

// The files of `folder` LoadHfWeights reads, by name: model.safetensors.index.json and every shard its
// weight_map names (sorted), or model.safetensors alone. BadInput naming the folder when it has neither.
absl::StatusOr<std::vector<std::string>> HfWeightFiles(const std::string& folder);

// Writes folder/model.safetensors with every parameter of `model` except LoRA adapters (lora_A,
// lora_B), under its own name, in its own dtype. The folder is created if needed. For a whole model in
// one process (tp = 1); a tensor-parallel export gathers first.
absl::Status SaveHfWeights(const std::string& folder, const torch::nn::Module& model);

}  // namespace zen
