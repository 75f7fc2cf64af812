// Global-batch load balancing (moe.balance = global_batch; Megatron-Core's global_aux_loss, the balancing
// Qwen3-MoE was trained with): the token fractions f_e of a layer's load-balancing loss are counted over
// every rank holding other tokens of the step (the data- and context-parallel group; the tp shares are
// already summed) and over the step's micro-batches so far, instead of over one micro-batch.
//
// Why "so far" and not the whole step: under 1F1B the backward of the first micro-batch runs before the
// last one's forward, so the step's fractions are not known when the first aux gradient is needed; knowing
// them would mean keeping every micro-batch's activations until the last forward (GPipe's memory) or
// routing the step twice. With one micro-batch per rank (train.global_batch_size = data-parallel ranks ×
// train.micro_batch_size) the window is exactly the global batch, whatever the layout (docs/moe.md).
#pragma once

#include <cstdint>
#include <deque>

#include <torch/torch.h>

namespace zen {

class Communicator;

// One MoE layer's running counts over a step.
class BalanceWindow {
 public:
  // tally: (E + 1) fp64, this micro-batch's token choices per expert and its token count (summed over the
  // tp shares), on the run's device. Sums it over `group` (null: this process alone), adds it to the
  // step's running counts (restarted when `step` changes) and returns (E + 2) fp64 on the CPU: the running
  // choices per expert, the running tokens, and this micro-step's tokens over the group. Collective.
  torch::Tensor Add(const torch::Tensor& tally, Communicator* group, int64_t step);
  // The oldest Add result not yet replayed: a recomputing backward (parallel/recompute.h) routes the same
  // micro-batch again in forward order and must see the counts its forward saw. Not collective.
  torch::Tensor Replay();

 private:
  int64_t step_ = -1;
  torch::Tensor running_;               // (E + 1) fp64 CPU
  std::deque<torch::Tensor> replay_;    // Add results of this step not yet replayed
};

}  // namespace zen
