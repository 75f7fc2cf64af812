// Activation recomputation (checkpointing) for libtorch, which has no torch.utils.checkpoint: run a
// function without keeping its activations, and re-run it in the backward to get them back.
//
// Three constraints make the re-run give the forward's numbers exactly (docs/memory.md):
//   autocast  the forward's autocast state (enabled, dtype; CPU and CUDA) is re-entered for the re-run,
//             since the backward runs outside the trainer's autocast scope;
//   RNG       the default generator's state (CPU; CUDA too for CUDA inputs) is recorded before the forward
//             and set again for the re-run, so LoRA dropout draws the same mask; the caller's state is put
//             back afterwards, so later draws are those of a run without recomputation;
//   stats     while a re-run is in progress IsRecomputing() is true: code that records statistics in its
//             forward (the MoE block's expert counts and aux sums) records nothing then.
// Collectives inside the function (tensor- and expert-parallel) run again in the re-run, in the same order
// on every rank, because every rank runs the same backward.
#pragma once

#include <functional>
#include <vector>

#include <torch/torch.h>

namespace zen {

// fn(inputs) -> one tensor. It is kept until the backward: capture by value, never a reference to a local.
using RecomputeFn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

// fn(inputs), with only `inputs` and the RNG state kept for the backward. There fn runs again on the saved
// inputs (detached, requiring grad as the originals did) and the incoming gradient is backpropagated
// through it into `inputs` and `params`. `params`: other tensors fn reads whose gradients must flow (a
// module's parameters, media features); those not requiring grad are ignored. Without grad mode, or when
// nothing requires grad, this is simply fn(inputs).
torch::Tensor Checkpoint(const RecomputeFn& fn, const std::vector<torch::Tensor>& inputs,
                         const std::vector<torch::Tensor>& params = {});

// True on this thread while a Checkpoint's backward re-runs its function.
bool IsRecomputing();

// While alive, AttentionCore on this thread checkpoints the core attention (selective recomputation).
class SelectiveRecomputeScope {
 public:
  SelectiveRecomputeScope();
  ~SelectiveRecomputeScope();
  SelectiveRecomputeScope(const SelectiveRecomputeScope&) = delete;
  SelectiveRecomputeScope& operator=(const SelectiveRecomputeScope&) = delete;

 private:
  bool previous_;
};

// The core attention of a layer, fn({q, k, v}) = softmax(q kᵀ / √d + mask) v: Checkpoint(fn, qkv) inside a
// SelectiveRecomputeScope, fn(qkv) otherwise. Megatron's selective recomputation: the scores (or, with a
// fused kernel, its output and log-sum-exp) are not kept; q, k, v and the matmul outputs are.
// Inside a ContextParallelScope (parallel/context_parallel.h) k and v are first gathered over the cp group,
// so fn sees this rank's queries against the whole row's keys.
torch::Tensor AttentionCore(const RecomputeFn& fn, const std::vector<torch::Tensor>& qkv);

}  // namespace zen
