// zen's LoRA adapters as PEFT files (adapter_config.json + adapter_model.safetensors), out and back in, in the
// form peft 0.21 loads onto transformers 5.24's Qwen3ForCausalLM and Qwen3MoeForCausalLM (docs/moe.md,
// "Serving expert adapters"). Keys are "base_model.model.<module>.lora_A.weight" (r, in) / ".lora_B.weight"
// (out, r), scale lora_alpha / r, as peft saves them.
//   Linears (attention; a dense model's MLP): target_modules by leaf name (q_proj, ..., down_proj).
//   On a MoE model everything else goes through target_parameters (peft's ParamWrapper: LoRA on an
//   nn.Parameter), because transformers 5 holds the router as a bare parameter mlp.gate.weight (E, H) and
//   fuses the routed experts into mlp.experts.gate_up_proj (E, 2I, H), gate rows first, and
//   mlp.experts.down_proj (E, H, I); and because peft's v4->v5 conversion rewrites any target_modules entry
//   named gate_proj / up_proj / down_proj into the fused expert parameters, so a dense layer's or the shared
//   expert's MLP is named by its weight (mlp.gate_proj.weight, mlp.shared_expert.up_proj.weight, ...).
//   A fused expert parameter holds every expert's factors (ParamWrapper's layout, r' per expert):
//     lora_A (E r', in):  rows [e r', (e+1) r') are expert e's A;
//     lora_B (out, r' E): column j E + e is column j of expert e's B.
//   zen adapts each expert's gate and up separately (rank r each): gate_up_proj gets r' = 2r and lora_alpha
//   2 alpha (rank_pattern / alpha_pattern ".*\.gate_up_proj", same scale) with A_e = [A_gate; A_up] and
//   B_e = [[B_gate, 0], [0, B_up]], whose product is exactly [B_gate A_gate; B_up A_up] (the form peft's own
//   conversion of per-expert adapters builds). down_proj gets r' = r. When both are adapted peft nests the
//   second wrapper around the first, so gate_up_proj's keys are under mlp.experts.base_layer and down_proj's
//   under mlp.experts; either alone is under mlp.experts.
//   A router temperature T is folded into the exported router (hf_export.h), so the router's lora_B is / T.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/recipe.h"        // defines: ModelSpec, LoraSpec
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

struct PeftAdapter {
  nlohmann::json config;                                       // adapter_config.json
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // adapter_model.safetensors, in order
};

// The adapters `model` (whole, tp = 1) carries, in PEFT's form; base_model_name_or_path = `base_model`.
// BadInput when it carries none, or one transformers has no module for (Zen-Omni's cross-attention).
absl::StatusOr<PeftAdapter> PeftAdapterOf(const torch::nn::Module& model, const ModelSpec& spec,
                                          const LoraSpec& lora, const std::string& base_model);

// Writes folder/adapter_model.safetensors and folder/adapter_config.json.
absl::Status WritePeftAdapter(const std::string& folder, const PeftAdapter& adapter);

// Copies the PEFT adapter in `folder` into the adapters ApplyLora attached to `model` (this rank's slices
// under tp, its experts under ep, its layers under pp). Reads both the fused form above and one tensor pair
// per expert linear (mlp.experts.{e}.gate_proj, the Hub's per-expert names). BadInput naming the file and
// the tensor: a tensor of another shape, one for a module the recipe's lora.targets do not adapt, an
// adapted module the file has no tensor for, a gate_up_proj lora_B that is not block-diagonal (zen adapts
// gate and up separately); naming adapter_config.json: r, lora_alpha or patterns other than lora.rank and
// lora.alpha.
absl::Status LoadPeftAdapter(const std::string& folder, torch::nn::Module& model, const ModelSpec& spec,
                             const LoraSpec& lora, const TpGroup& tp);

}  // namespace zen
