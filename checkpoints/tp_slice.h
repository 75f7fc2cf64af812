// How a tensor split across the tensor-parallel group (ParamInfo::split_dim, parallel/param_info.h) goes
// into a sharded checkpoint, and back: each tp rank saves its slice with the whole tensor's shape and the
// slice's offset, so a reader assembles the whole and any other layout takes its own slice (TpShard).
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "checkpoints/checkpoint.h"  // defines: SavedSlice
#include "parallel/tp_group.h"       // defines: TpGroup

namespace zen {

// `local`: this rank's slice of tensor `name` along `split_dim` (-1 or tp of size 1: the whole tensor).
SavedSlice TpSlice(const std::string& name, const torch::Tensor& local, int64_t split_dim, const TpGroup& tp);

}  // namespace zen
