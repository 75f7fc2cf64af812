// AdamW with decoupled weight decay, numerically the same as torch.optim.AdamW (amsgrad=false,
// maximize=false), owned here so that its state can be sharded and checkpointed by name.
// A parameter stored in lower precision (bf16, fp16) gets an fp32 master copy in the optimizer state, as
// llm.c's adamw keeps one: the update is applied to the master and the parameter takes its rounding, so
// updates smaller than the storage dtype's resolution accumulate instead of being lost. The master is part
// of the state: kept only by the parameter's owner under ZeRO-1 and saved in checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "core/recipe.h"  // defines: OptimSpec

namespace zen {

struct NamedParam {
  std::string name;    // the model's parameter name, e.g. "model.layers.0.self_attn.q_proj.lora_A"
  torch::Tensor param;
};

// Which tensors get weight decay: those with dim() >= 2 (matrices, embeddings, LoRA A/B), never 1-D
// ones (norm weights, biases). This is Megatron-Core's rule (get_param_groups: no decay for biases and
// 1-D params); decaying a norm's gain towards 0 only fights the normalisation it exists to undo.
bool DecaysWeight(const NamedParam& p);

// One optimizer state tensor, named "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step" or
// "<param>.master".
using NamedTensor = std::pair<std::string, torch::Tensor>;

class AdamW {
 public:
  // Keeps only the params with requires_grad; beta1, beta2, eps and weight_decay come from `spec`
  // (lr comes with each Step, from the schedule). State is allocated now, in fp32, on each param's
  // device, so StateTensors() has the same names and shapes before and after the first step; a
  // lower-precision param's master starts as its current values.
  AdamW(const std::vector<NamedParam>& params, const OptimSpec& spec);

  // One update at learning rate `lr`, as torch.optim.AdamW:
  //   p -= lr * wd * p                       (only where DecaysWeight)
  //   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
  //   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
  // t counts the steps that param took: a param whose grad is undefined is skipped entirely.
  void Step(double lr);
  // Drops every grad (torch's set_to_none=true), so an unused param is skipped by the next Step.
  void ZeroGrad();

  int64_t step_count() const { return step_count_; }  // Step() calls so far
  const std::vector<NamedParam>& params() const { return params_; }  // the optimised ones

  // Per param, in param order: "<name>.exp_avg" and "<name>.exp_avg_sq" (fp32, the param's shape; the
  // live tensors, sharing storage with the optimizer), "<name>.step" (a 0-d int64 CPU copy) and, for a
  // param stored below fp32, "<name>.master" (fp32, the param's shape, live).
  std::vector<NamedTensor> StateTensors() const;
  // Copies saved state back in; every name StateTensors() lists must be present with its shape.
  // Unknown names are an error too: they mean the checkpoint belongs to another model or layout.
  // A loaded master is copied into its parameter too, so the two agree.
  absl::Status LoadStateTensors(const std::vector<NamedTensor>& state, int64_t step_count);

 private:
  struct Slot {  // the state of params_[i] is slots_[i]
    bool decay = false;
    torch::Tensor exp_avg;     // fp32, shape of p
    torch::Tensor exp_avg_sq;  // fp32, shape of p
    torch::Tensor master;      // fp32 copy of a param stored below fp32; undefined for an fp32 param
    int64_t steps = 0;
  };
  void Update(const torch::Tensor& param, Slot& s, double lr);

  std::vector<NamedParam> params_;
  std::vector<Slot> slots_;
  OptimSpec spec_;
  int64_t step_count_ = 0;
};

}  // namespace zen
