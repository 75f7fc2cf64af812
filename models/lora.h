// LoRA on a model built from parallel/ linears: which modules a recipe's `lora.targets` denote, wrapping
// them (base frozen), and folding the adapters back into the weights. The adapter itself (A, B, scale,
// dropout) lives in the linears (parallel/layers.h: LoraAdapter), so it shards with them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/recipe.h"  // defines: LoraSpec

namespace zen {

// The kinds of linear a target can name. One recipe entry may denote several (experts.*.wi = gate + up).
// clang-format off
enum class LoraLinear {
  kQ, kK, kV, kO,                       // attention projections
  kGate, kUp, kDown,                    // the dense SwiGLU MLP (not experts, not the shared expert)
  kRouter,                              // MoE router: hidden -> experts
  kExpertGate, kExpertUp, kExpertDown,  // every routed expert's SwiGLU
  kSharedGate, kSharedUp, kSharedDown,  // the shared expert's SwiGLU
  kCrossQ, kCrossK, kCrossV, kCrossO,   // Zen-Omni's cross-attention to the media
  kLinearQkvz, kLinearBa, kLinearOut,   // Qwen3-Next's Gated DeltaNet projections
  kSharedExpertGate,                    // Qwen3-Next's shared-expert gate (hidden -> 1)
};
// clang-format on

// Recipe names (lora.targets) and what they denote:
//   q|q_proj, k|k_proj, v|v_proj, o|o_proj, gate|gate_proj, up|up_proj, down|down_proj: that dense linear;
//   router; experts.*.wi (gate + up of every expert); wo | experts.*.wo (down of every expert);
//   experts.*.mlp (all three of every expert); shared (the shared expert's three); cross_attn (q, k, v, o
//   of every cross-modal layer, whose tanh gates then train too); Qwen3-Next's in_proj_qkvz, in_proj_ba,
//   out_proj (every Gated DeltaNet layer's) and shared_expert_gate. On Qwen3-Next q means the gated
//   attention's q_proj (query and gate rows). The encoders (vision_tower, audio_tower)
//   are never adapted: "q" means the decoder's attention only.
// An entry denotes one or more kinds; an unknown entry is BadInput naming lora.targets and the entry.
absl::StatusOr<std::vector<LoraLinear>> ResolveLoraTarget(const std::string& target);

// Every distinct kind the entries denote, in enum order.
absl::StatusOr<std::vector<LoraLinear>> ResolveLoraTargets(const std::vector<std::string>& targets);

// With spec.enabled: freezes every parameter of `model`, attaches a fresh adapter (B = 0, so the output
// is unchanged) to every linear a target denotes, and returns the number of trainable parameters this
// process holds. Adapter A matrices come from one draw of torch's global generator, seeded per module
// name, so every layout holds the same adapters. Errors (BadInput, model untouched): an unknown target,
// a target that matches no module (unless `whole_model` is false: a pipeline stage may lack the modules
// another stage holds), a non-positive rank.
// Without spec.enabled (full fine-tuning) nothing changes and every parameter counts as trainable.
absl::StatusOr<int64_t> ApplyLora(torch::nn::Module& model, const LoraSpec& spec, bool whole_model = true);

// Folds scale * B A into every adapted weight and removes the adapters. Frozen weights stay frozen.
void MergeLora(torch::nn::Module& model);

// Elements of the parameters that require grad.
int64_t CountTrainableParameters(const torch::nn::Module& model);

}  // namespace zen
