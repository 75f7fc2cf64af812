#include "parallel/mappings.h"

namespace zen {
namespace {

// Until the Communicator lands, a group larger than one process cannot run (the recipe check rejects it).
void RequireSingleRank(const TpGroup& tp) {
  TORCH_CHECK(tp.size == 1, "tensor parallelism needs the Communicator (issue 4)");
}

}  // namespace

torch::Tensor CopyToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  RequireSingleRank(tp);
  return x;
}

torch::Tensor ReduceFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  RequireSingleRank(tp);
  return x;
}

torch::Tensor GatherFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  RequireSingleRank(tp);
  return x;
}

torch::Tensor ScatterToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  RequireSingleRank(tp);
  return x;
}

}  // namespace zen
