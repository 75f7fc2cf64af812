// Gradient rules for tensor parallelism, from each parameter's ParamInfo (parallel/param_info.h).
// A parameter every tp rank holds whole either has the same gradient on every rank (norms before a
// parallel region: the region's backward all-reduces their input's gradient), or a partial one that
// must be summed over the group (ParamInfo::grad_partial_over.tp): the per-head q/k norms (each rank sees
// only its heads) and the LoRA factor a rank holds whole while the other factor is split (A of a
// column-parallel linear, B of a row-parallel one).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "parallel/communicator.h"
#include "parallel/param_info.h"  // defines: ParamInfo

namespace zen {

struct TpParamGroups {
  std::vector<torch::Tensor> sharded;     // split across tp: each rank's gradient is its own slice
  std::vector<torch::Tensor> replicated;  // whole on every tp rank
  std::vector<torch::Tensor> partial;     // subset of replicated whose gradients are partial sums
};

// Sorts the trainable parameters of a model by their infos (name -> ParamInfo, from ParamInfos(model)).
TpParamGroups GroupByTpSplit(const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                             const std::map<std::string, ParamInfo>& infos);

// Sums the partial gradients over the tensor-parallel group.
void AllReducePartialGradients(const TpParamGroups& groups, Communicator& tp);

// The squared L2 norm of all gradients of the model as one process would see it, on this rank's
// share: sharded gradients count fully, replicated ones 1/tp (every tp rank holds the same copy), so
// that summing the result over the tp group (and pipeline stages) gives the global squared norm.
double LocalSquaredGradNorm(const TpParamGroups& groups, int64_t tp_size);

}  // namespace zen
