#include "models/moe_balance.h"

#include "parallel/communicator.h"

namespace zen {

torch::Tensor BalanceWindow::Add(const torch::Tensor& tally, Communicator* group, int64_t step) {
  torch::Tensor sum = tally.contiguous().clone();
  if (group != nullptr) group->AllReduceSum(sum);
  sum = sum.cpu();
  if (step != step_) {
    step_ = step;
    running_ = torch::zeros_like(sum);
    replay_.clear();
  }
  running_ += sum;
  const int64_t experts = sum.size(0) - 1;
  torch::Tensor window = torch::cat({running_, sum.slice(0, experts, experts + 1)});
  replay_.push_back(window);
  return window;
}

torch::Tensor BalanceWindow::Replay() {
  TORCH_CHECK(!replay_.empty(), "a recomputed MoE layer has no saved global-batch counts to replay");
  torch::Tensor window = replay_.front();
  replay_.pop_front();
  return window;
}

}  // namespace zen
