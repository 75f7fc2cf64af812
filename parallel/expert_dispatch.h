// Expert parallelism: an MoE layer's experts are spread over the expert group (`parallel.expert` ranks,
// E / ep consecutive experts each), and each rank's routed tokens travel to the rank holding their expert
// with an all-to-all-v and come back the same way (Megatron-Core's token dispatcher):
//
//   rows sorted by expert (all E) --all-to-all--> rows for my E/ep experts, grouped by source rank
//     --regroup--> grouped by local expert --experts--> --ungroup--> --all-to-all back--> sorted by expert
//
// Both exchanges are autograd functions whose backward is the inverse exchange. Row counts travel first
// (one small all-to-all), so no rank needs to know another's routing in advance; a rank may send or
// receive no rows at all. With a group of one everything is the identity.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "parallel/rank_group.h"  // defines: RankGroup

namespace zen {

class Communicator;

// The ranks that split the routed experts among them.
using EpGroup = RankGroup;

// Where the rows of one MoE layer's micro-batch go and come from.
struct DispatchPlan {
  std::vector<int64_t> send_rows;          // (ep): rows this rank sends to each rank
  std::vector<int64_t> recv_rows;          // (ep): rows it receives from each
  std::vector<int64_t> local_expert_rows;  // (E/ep): rows each local expert processes
  torch::Tensor regroup;  // (received rows) int64: row i of the grouped-by-expert order is received row regroup[i]
};

// rows_per_expert: (E) this rank's routed rows per global expert, in expert order. Collective over ep.
DispatchPlan PlanDispatch(const std::vector<int64_t>& rows_per_expert, const EpGroup& ep);

// sorted: (R, C) this rank's rows in expert order -> (R', C) the rows of this rank's experts, grouped by
// local expert (plan.local_expert_rows).
torch::Tensor DispatchToExperts(const torch::Tensor& sorted, const DispatchPlan& plan, const EpGroup& ep);

// The inverse: (R', C) expert outputs grouped by local expert -> (R, C) in this rank's expert order.
torch::Tensor CombineFromExperts(const torch::Tensor& grouped, const DispatchPlan& plan, const EpGroup& ep);

}  // namespace zen
