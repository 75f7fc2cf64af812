#include "parallel/expert_dispatch.h"

#include <numeric>

#include "parallel/communicator.h"

namespace zen {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// All-to-all-v of rows whose backward sends the gradients back the way the rows came.
struct AllToAllRows : torch::autograd::Function<AllToAllRows> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, Communicator* comm,
                               const std::vector<int64_t>& send, const std::vector<int64_t>& recv) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    ctx->saved_data["send"] = send;
    ctx->saved_data["recv"] = recv;
    return comm->AllToAll(x.contiguous(), send, recv);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const std::vector<int64_t> send = ctx->saved_data["send"].toIntVector();
    const std::vector<int64_t> recv = ctx->saved_data["recv"].toIntVector();
    return {comm->AllToAll(grad[0].contiguous(), recv, send), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

DispatchPlan PlanDispatch(const std::vector<int64_t>& rows_per_expert, const EpGroup& ep) {
  const auto experts = static_cast<int64_t>(rows_per_expert.size());
  const int64_t local = experts / ep.size;
  DispatchPlan plan;
  if (ep.size == 1) {
    plan.send_rows = plan.recv_rows = {std::accumulate(rows_per_expert.begin(), rows_per_expert.end(), int64_t{0})};
    plan.local_expert_rows = rows_per_expert;
    return plan;
  }
  // counts[q][j]: rows rank q sends to local expert j of this rank, after one all-to-all of the counts.
  torch::Tensor mine = torch::tensor(rows_per_expert, torch::kLong);
  const std::vector<int64_t> per_rank(ep.size, local);
  torch::Tensor counts = ep.comm->AllToAll(mine, per_rank, per_rank).view({ep.size, local});
  auto c = counts.accessor<int64_t, 2>();
  plan.send_rows.assign(ep.size, 0);
  plan.recv_rows.assign(ep.size, 0);
  plan.local_expert_rows.assign(local, 0);
  for (int64_t q = 0; q < ep.size; ++q) {
    for (int64_t j = 0; j < local; ++j) {
      plan.send_rows[q] += rows_per_expert[q * local + j];
      plan.recv_rows[q] += c[q][j];
      plan.local_expert_rows[j] += c[q][j];
    }
  }
  // Received rows come as [source q][local expert j]; the experts want [j][q].
  std::vector<int64_t> start(ep.size * local);  // offset of block (q, j) in the received order
  for (int64_t q = 0, offset = 0; q < ep.size; ++q) {
    for (int64_t j = 0; j < local; ++j) start[q * local + j] = offset, offset += c[q][j];
  }
  std::vector<int64_t> regroup;
  for (int64_t j = 0; j < local; ++j) {
    for (int64_t q = 0; q < ep.size; ++q) {
      for (int64_t r = 0; r < c[q][j]; ++r) regroup.push_back(start[q * local + j] + r);
    }
  }
  plan.regroup = torch::tensor(regroup, torch::kLong);
  return plan;
}

torch::Tensor DispatchToExperts(const torch::Tensor& sorted, const DispatchPlan& plan, const EpGroup& ep) {
  if (ep.size == 1) return sorted;
  torch::Tensor received = AllToAllRows::apply(sorted, ep.comm, plan.send_rows, plan.recv_rows);
  return received.index_select(0, plan.regroup.to(received.device()));
}

torch::Tensor CombineFromExperts(const torch::Tensor& grouped, const DispatchPlan& plan, const EpGroup& ep) {
  if (ep.size == 1) return grouped;
  // Undo the regroup (a permutation), then send every row back to the rank it came from.
  torch::Tensor received_order = torch::empty_like(grouped).index_copy(0, plan.regroup.to(grouped.device()), grouped);
  return AllToAllRows::apply(received_order, ep.comm, plan.recv_rows, plan.send_rows);
}

}  // namespace zen
