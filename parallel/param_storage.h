// Parameter storage precision (train.param_dtype): which dtype each parameter is stored in, applied once
// after the model is built and before any weights are loaded into it, so a frozen base read from a
// Hugging Face folder goes straight from the file into its bf16 storage (no fp32 copy of it ever exists).
//
// The rule, for a run storing parameters in `storage` (bf16):
//   - a trainable parameter whose ParamInfo::storage_dtype is set keeps that dtype (the norms' fp32 gains);
//   - every other parameter, trainable or frozen, is stored in `storage`.
// A frozen parameter never keeps an fp32 storage_dtype: it takes no updates, so fp32 would only double its
// bytes (and a Hugging Face base is bf16 to begin with, so bf16 loses nothing of it).
// Trainable parameters stored below fp32 get an fp32 master in AdamW (trainer/adamw.h).
#pragma once

#include <string>

#include <torch/torch.h>

#include "parallel/param_info.h"  // defines: ParamInfo

namespace zen {

// "fp32" -> kFloat32, "bf16" -> kBFloat16 (the recipe's train.param_dtype, already validated).
torch::ScalarType ParamStorageDtype(const std::string& param_dtype);

// The dtype parameter `info` of a parameter that is `trainable` is stored in under a run storing `storage`.
torch::ScalarType StorageDtypeOf(const ParamInfo& info, bool trainable, torch::ScalarType storage);

// Casts every parameter of `model` to its StorageDtypeOf, in place (the tensors keep their identity, so
// modules' members and the optimizer see the new storage). `frozen_too`: treat every parameter as frozen
// whatever its requires_grad says (LoRA, which freezes the base after the weights are loaded).
// A no-op for storage = kFloat32 when every parameter is fp32 already.
void ApplyParamStorage(torch::nn::Module& model, torch::ScalarType storage, bool frozen_too = false);

}  // namespace zen
