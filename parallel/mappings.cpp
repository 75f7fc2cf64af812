// The autograd-aware collectives at tensor-parallel region boundaries (Megatron-Core's mappings.py):
//   CopyTo:     forward identity,           backward all-reduce (sum)
//   ReduceFrom: forward all-reduce (sum),    backward identity
//   GatherFrom: forward all-gather last dim, backward keep this rank's slice
//   ScatterTo:  forward keep this rank's slice of the last dim, backward all-gather
// With a group of one, every mapping is the identity.
#include "parallel/mappings.h"

#include "parallel/communicator.h"

namespace zen {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

Communicator* CommOf(AutogradContext* ctx) {
  return reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
}

void SaveGroup(AutogradContext* ctx, const TpGroup& tp) {
  ctx->saved_data["comm"] = reinterpret_cast<int64_t>(tp.comm);
}

torch::Tensor AllReduced(const torch::Tensor& x, Communicator& comm) {
  torch::Tensor y = x.contiguous().clone();
  comm.AllReduceSum(y);
  return y;
}

// x: (..., n) on every rank -> (..., size * n), slices in rank order.
torch::Tensor GatheredLastDim(const torch::Tensor& x, Communicator& comm) {
  torch::Tensor front = x.movedim(-1, 0).contiguous();  // (n, ...)
  return comm.AllGather(front).movedim(0, -1).contiguous();
}

// x: (..., size * n) -> this rank's (..., n).
torch::Tensor OwnSliceLastDim(const torch::Tensor& x, int64_t rank, int64_t size) {
  const int64_t n = x.size(-1) / size;
  return x.narrow(-1, rank * n, n).contiguous();
}

struct CopyToRegion : torch::autograd::Function<CopyToRegion> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp) {
    SaveGroup(ctx, tp);
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {AllReduced(grad[0], *CommOf(ctx)), torch::Tensor()};
  }
};

struct ReduceFromRegion : torch::autograd::Function<ReduceFromRegion> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& x, const TpGroup& tp) {
    return AllReduced(x, *tp.comm);
  }
  static variable_list backward(AutogradContext*, variable_list grad) { return {grad[0], torch::Tensor()}; }
};

struct GatherFromRegion : torch::autograd::Function<GatherFromRegion> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp) {
    SaveGroup(ctx, tp);
    return GatheredLastDim(x, *tp.comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    Communicator* comm = CommOf(ctx);
    return {OwnSliceLastDim(grad[0], comm->rank(), comm->size()), torch::Tensor()};
  }
};

struct ScatterToRegion : torch::autograd::Function<ScatterToRegion> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp) {
    SaveGroup(ctx, tp);
    return OwnSliceLastDim(x, tp.rank, tp.size);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {GatheredLastDim(grad[0], *CommOf(ctx)), torch::Tensor()};
  }
};

void RequireCommunicator(const TpGroup& tp) {
  TORCH_CHECK(tp.comm != nullptr, "a tensor-parallel group of ", tp.size, " ranks needs a communicator");
}

}  // namespace

torch::Tensor CopyToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return CopyToRegion::apply(x, tp);
}

torch::Tensor ReduceFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return ReduceFromRegion::apply(x, tp);
}

torch::Tensor GatherFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return GatherFromRegion::apply(x, tp);
}

torch::Tensor ScatterToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return ScatterToRegion::apply(x, tp);
}

}  // namespace zen
