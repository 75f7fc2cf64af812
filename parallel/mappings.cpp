// The autograd-aware collectives at tensor-parallel region boundaries (Megatron-Core's mappings.py):
//   CopyTo:     forward identity,           backward all-reduce (sum)
//   ReduceFrom: forward all-reduce (sum),    backward identity
//   GatherFrom: forward all-gather last dim, backward keep this rank's slice
//   ScatterTo:  forward keep this rank's slice of the last dim, backward all-gather
//   GatherFromSequence:        forward all-gather dim -2, backward reduce-scatter (or keep my slice)
//   ReduceScatterToSequence:   forward reduce-scatter dim -2, backward all-gather
//   ScatterToSequence:         forward keep my slice of dim -2, backward all-gather
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

// The sequence is dim -2 of (..., T, C); the communicator gathers and scatters dim 0.
torch::Tensor SequenceFirst(const torch::Tensor& x) { return x.movedim(-2, 0).contiguous(); }
torch::Tensor SequenceBack(const torch::Tensor& x) { return x.movedim(0, -2).contiguous(); }

// x: (..., n, C) on every rank -> (..., size * n, C), shards in rank order.
torch::Tensor GatheredSequence(const torch::Tensor& x, Communicator& comm) {
  return SequenceBack(comm.AllGather(SequenceFirst(x)));
}

// x: (..., size * n, C) partial on every rank -> this rank's (..., n, C) of the sum.
torch::Tensor ReduceScatteredSequence(const torch::Tensor& x, Communicator& comm) {
  TORCH_CHECK(x.size(-2) % comm.size() == 0, "sequence parallelism: the sequence (", x.size(-2),
              ") is not divisible by the tensor-parallel size ", comm.size());
  return SequenceBack(comm.ReduceScatter(SequenceFirst(x)));
}

// x: (..., size * n, C) -> this rank's (..., n, C).
torch::Tensor OwnSliceSequence(const torch::Tensor& x, int64_t rank, int64_t size) {
  TORCH_CHECK(x.size(-2) % size == 0, "sequence parallelism: the sequence (", x.size(-2),
              ") is not divisible by the tensor-parallel size ", size);
  const int64_t n = x.size(-2) / size;
  return x.narrow(-2, rank * n, n).contiguous();
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

struct GatherFromSequence : torch::autograd::Function<GatherFromSequence> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp, bool grad_is_partial) {
    SaveGroup(ctx, tp);
    ctx->saved_data["partial"] = grad_is_partial;
    return GatheredSequence(x, *tp.comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    Communicator* comm = CommOf(ctx);
    torch::Tensor g = ctx->saved_data["partial"].toBool() ? ReduceScatteredSequence(grad[0], *comm)
                                                          : OwnSliceSequence(grad[0], comm->rank(), comm->size());
    return {g, torch::Tensor(), torch::Tensor()};
  }
};

struct ReduceScatterToSequence : torch::autograd::Function<ReduceScatterToSequence> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp) {
    SaveGroup(ctx, tp);
    return ReduceScatteredSequence(x, *tp.comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {GatheredSequence(grad[0], *CommOf(ctx)), torch::Tensor()};
  }
};

struct ScatterToSequence : torch::autograd::Function<ScatterToSequence> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const TpGroup& tp) {
    SaveGroup(ctx, tp);
    return OwnSliceSequence(x, tp.rank, tp.size);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {GatheredSequence(grad[0], *CommOf(ctx)), torch::Tensor()};
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

torch::Tensor GatherFromSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp, bool grad_is_partial) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return GatherFromSequence::apply(x, tp, grad_is_partial);
}

torch::Tensor ReduceScatterToSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return ReduceScatterToSequence::apply(x, tp);
}

torch::Tensor ScatterToSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  if (tp.size == 1) return x;
  RequireCommunicator(tp);
  return ScatterToSequence::apply(x, tp);
}

torch::Tensor EnterTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp) {
  return tp.sequence_parallel ? GatherFromSequenceParallelRegion(x, tp) : CopyToTensorParallelRegion(x, tp);
}

torch::Tensor LeaveTensorParallelRegion(const torch::Tensor& partial, const TpGroup& tp) {
  return tp.sequence_parallel ? ReduceScatterToSequenceParallelRegion(partial, tp)
                              : ReduceFromTensorParallelRegion(partial, tp);
}

}  // namespace zen
