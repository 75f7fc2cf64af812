#include "parallel/expert_tokens.h"

#include <vector>

#include "parallel/communicator.h"
#include "parallel/context_parallel.h"  // defines: ActiveContextGroup
#include "parallel/param_info.h"  // defines: MarkTokenShared

namespace zen {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rank r's share of n tokens: [r n / size, (r + 1) n / size), so shares differ by at most one row.
int64_t ShareBegin(int64_t n, int64_t r, int64_t size) { return r * n / size; }
int64_t ShareRows(int64_t n, int64_t r, int64_t size) { return ShareBegin(n, r + 1, size) - ShareBegin(n, r, size); }

bool SplitsTokens(const TpGroup& tp) { return tp.size > 1 && !tp.sequence_parallel; }

// share: (rows of rank `comm.rank()`, C) -> (n, C): every rank's share in rank order. Shares may differ by a
// row (or be empty), so this is an all-to-all-v that sends each rank the same rows.
torch::Tensor GatheredShares(const torch::Tensor& share, Communicator& comm, int64_t n) {
  const int64_t size = comm.size();
  std::vector<int64_t> send(size, share.size(0)), recv(size);
  for (int64_t r = 0; r < size; ++r) recv[r] = ShareRows(n, r, size);
  return comm.AllToAll(share.contiguous().repeat({size, 1}), send, recv);
}

torch::Tensor OwnShare(const torch::Tensor& x, int64_t rank, int64_t size) {
  const int64_t n = x.size(0);
  return x.narrow(0, ShareBegin(n, rank, size), ShareRows(n, rank, size));
}

struct TakeShare : torch::autograd::Function<TakeShare> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& tokens, const TpGroup& tp) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(tp.comm);
    ctx->saved_data["n"] = tokens.size(0);
    return OwnShare(tokens, tp.rank, tp.size).clone();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    return {GatheredShares(grad[0], *comm, ctx->saved_data["n"].toInt()), torch::Tensor()};
  }
};

struct GatherShares : torch::autograd::Function<GatherShares> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& share, const TpGroup& tp, int64_t n) {
    ctx->saved_data["rank"] = tp.rank;
    ctx->saved_data["size"] = tp.size;
    return GatheredShares(share, *tp.comm, n);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {OwnShare(grad[0], ctx->saved_data["rank"].toInt(), ctx->saved_data["size"].toInt()).contiguous(),
            torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor TakeExpertTokenShare(const torch::Tensor& tokens, const TpGroup& tp) {
  if (!SplitsTokens(tp)) return tokens;
  TORCH_CHECK(tp.comm != nullptr, "a tensor-parallel group of ", tp.size, " ranks needs a communicator");
  return TakeShare::apply(tokens, tp);
}

torch::Tensor GatherExpertTokenShares(const torch::Tensor& share, const TpGroup& tp, int64_t tokens) {
  if (!SplitsTokens(tp)) return share;
  return GatherShares::apply(share, tp, tokens);
}

torch::Tensor SumOverTokenShares(const torch::Tensor& x, const TpGroup& tp) {
  const CpGroup* cp = ActiveContextGroup();  // the micro-batch's other chunks of each row
  if (tp.size == 1 && cp == nullptr) return x;
  torch::Tensor sum = x.contiguous().clone();
  if (tp.size > 1) tp.comm->AllReduceSum(sum);
  if (cp != nullptr) cp->comm->AllReduceSum(sum);
  return sum;
}

void MarkRunsOnTokenShare(torch::nn::Module& module, const TpGroup& tp) {
  if (tp.size > 1) MarkTokenShared(module);
}

}  // namespace zen
