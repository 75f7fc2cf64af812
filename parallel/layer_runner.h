// The layer-wrapper seam: the model's layer loop calls each decoder layer through a LayerRunner, which
// decides whether and what to recompute in the backward (train.recompute, docs/memory.md). The model
// stays unaware of the mode: Qwen3Impl::forward_hidden calls runner.Run(i, layer, fn, x), the trainer sets
// the runner. The constraints a recomputed layer must meet (autocast in the backward, RNG replay for LoRA
// dropout, no double-counted MoE statistics) are kept by Checkpoint (parallel/recompute.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/recipe.h"  // defines: TrainSpec

namespace zen {

enum class RecomputeMode { kNone, kSelective, kFull };

struct RecomputePolicy {
  RecomputeMode mode = RecomputeMode::kNone;
  int64_t layers = 0;  // kFull: recompute the first `layers` layers of each stage; 0 = all
};

// train.recompute and train.recompute_layers (checked by the recipe validation).
RecomputePolicy RecomputePolicyFor(const TrainSpec& train);

class LayerRunner {
 public:
  // x (B, T, C) -> (B, T, C). Kept until the backward when the layer is recomputed: capture by value.
  using LayerFn = std::function<torch::Tensor(const torch::Tensor&)>;

  LayerRunner() = default;
  explicit LayerRunner(RecomputePolicy policy) : policy_(policy) {}

  // fn(x) for the stage's layer `index` (0 = its first). `layer`: the module fn runs, whose trainable
  // parameters a recomputed layer's gradient reaches; `extra`: other tensors fn reads whose gradients must
  // flow (a cross-modal layer's media features).
  //   none:      fn(x)
  //   selective: fn(x) with the core attention recomputed (AttentionCore)
  //   full:      Checkpoint: only x is kept, the layer re-runs in the backward (first `layers` layers)
  torch::Tensor Run(int64_t index, const torch::nn::Module& layer, const LayerFn& fn, const torch::Tensor& x,
                    const std::vector<torch::Tensor>& extra = {}) const;

  const RecomputePolicy& policy() const { return policy_; }

 private:
  RecomputePolicy policy_;
};

}  // namespace zen
