// ZeRO stage 1: the optimizer state is sharded over the data-parallel group. Each parameter has one
// owner rank that keeps its Adam moments and updates it; after the update every owner broadcasts its
// parameters, so all replicas hold the same weights again. Gradients are still summed everywhere.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "parallel/communicator.h"

namespace zen {

// Owner (0..dp-1) of each parameter: largest first to the least-loaded rank, ties to the lowest rank,
// so the state each rank keeps is within one parameter of 1/dp of the total.
std::vector<int64_t> AssignOwners(const std::vector<int64_t>& numels, int64_t dp);

// Every rank receives the current values of the parameters other ranks own: one broadcast per owner
// of its parameters flattened together.
void BroadcastFromOwners(const std::vector<torch::Tensor>& params, const std::vector<int64_t>& owners,
                         Communicator& dp);

}  // namespace zen
