// Deterministic initialisation that does not depend on how the model is split: one seed drawn from
// torch's global generator, and per tensor a CPU generator seeded by that seed and the tensor's name.
// Every tensor is drawn at its full (unsharded) shape and then sliced, so any tensor-parallel or
// pipeline layout holds the same numbers as one process with the same seed.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// One draw from torch's global generator (torch::manual_seed makes it reproducible).
uint64_t DrawSeed();

// A CPU generator for the tensor called `name`, from a seed of DrawSeed().
at::Generator GeneratorFor(uint64_t seed, const std::string& name);

// As Hugging Face initialises a decoder (initializer_range `std`), by each parameter's declared
// ParamInfo::init (parallel/param_info.h): norm scales 1; biases, LayerNorm shifts and the Omni
// cross-attention gates 0; Whisper's sinusoids (and LoRA factors) kept; Gated DeltaNet's A_log
// log(U(0.01, 16)); every other one ~ N(0, std). The drawn ones are drawn at full shape from
// GeneratorFor(seed, name) and sliced for this rank along its ParamInfo::split_dim.
void InitParameters(torch::nn::Module& model, uint64_t seed, const TpGroup& tp, double std = 0.02);

}  // namespace zen
