#include "parallel/zero.h"

#include <algorithm>
#include <numeric>

namespace zen {

std::vector<int64_t> AssignOwners(const std::vector<int64_t>& numels, int64_t dp) {
  std::vector<size_t> order(numels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return numels[a] > numels[b]; });
  std::vector<int64_t> load(dp, 0), owners(numels.size(), 0);
  for (size_t i : order) {
    const int64_t rank = std::min_element(load.begin(), load.end()) - load.begin();
    owners[i] = rank;
    load[rank] += numels[i];
  }
  return owners;
}

void BroadcastFromOwners(const std::vector<torch::Tensor>& params, const std::vector<int64_t>& owners,
                         Communicator& dp) {
  if (dp.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (int64_t owner = 0; owner < dp.size(); ++owner) {
    std::vector<torch::Tensor> owned;
    for (size_t i = 0; i < params.size(); ++i) {
      if (owners[i] == owner) owned.push_back(params[i]);
    }
    if (owned.empty()) continue;
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor& p : owned) flat.push_back(p.detach().reshape(-1));
    torch::Tensor buffer = torch::cat(flat);  // (sum of numels,)
    dp.Broadcast(buffer, owner);
    int64_t offset = 0;
    for (const torch::Tensor& p : owned) {
      p.detach().copy_(buffer.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
    }
  }
}

}  // namespace zen
