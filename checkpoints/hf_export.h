// Export for the tools people serve models with (`zen export`): a training checkpoint, whatever layout
// saved it, becomes
//   hf:   a Hugging Face folder (config.json + model.safetensors) with the LoRA adapters merged, that
//         transformers' AutoModelForCausalLM loads as Qwen3ForCausalLM (dense), Qwen3MoeForCausalLM (MoE) or
//         Qwen3NextForCausalLM (Gated DeltaNet / gated attention layers: layer_types, the linear_* shapes,
//         partial RoPE); experts one tensor each, as on the Hub, which transformers 5 fuses on load;
//   peft: adapter_config.json + adapter_model.safetensors that peft.PeftModel.from_pretrained loads onto the
//         base model, MoE routers and experts included (checkpoints/peft_adapter.h gives the form).
// What transformers cannot express is refused (BadInput naming the recipe key): a Zen-Omni model (no
// transformers class has its encoders and gated cross-attention), a shared expert on Qwen3-MoE (it has
// none), a Qwen3-Next model with a layer, norm or MoE its class cannot hold. A router temperature is folded
// into the router (and its adapter).
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "checkpoints/checkpoint.h"  // defines: CheckpointReader
#include "core/recipe.h"             // defines: Recipe, ModelSpec, MoeSpec, LoraSpec
#include "models/qwen3.h"            // defines: Qwen3

namespace zen {

enum class ExportFormat { kHf, kPeft };

// transformers' config.json for `spec` (fp32 weights). BadInput when transformers has no such model.
absl::StatusOr<nlohmann::json> HfConfig(const ModelSpec& spec, const MoeSpec& moe);

// The whole model `recipe` trains (tp = 1, one stage, LoRA attached as the recipe says) with every
// parameter, frozen base weights and adapters alike, assembled from `reader`'s "model/<name>" tensors (an
// adapter-only checkpoint's frozen base from model.checkpoint, checked unchanged: checkpoints/base_fingerprint.h).
// BadInput naming the checkpoint when a tensor is missing or of another shape.
absl::StatusOr<Qwen3> LoadCheckpointModel(const Recipe& recipe, CheckpointReader& reader);

// Writes folder/config.json and folder/model.safetensors: the base weights, adapters left out (unmerged).
// Folds the router temperature into the routers of `model`.
absl::Status WriteHfFolder(const std::string& folder, Qwen3& model, const MoeSpec& moe);

// WriteHfFolder after merging the adapters into `model` (MergeLora): the fine-tuned model.
absl::Status ExportHf(const std::string& folder, Qwen3& model, const MoeSpec& moe);

// Writes folder/adapter_config.json (r, lora_alpha, lora_dropout from `lora`; target_modules the adapted
// modules' Hugging Face names; base_model_name_or_path = `base_model`) and folder/adapter_model.safetensors.
// BadInput when the model carries no adapter, or one on a module transformers lacks (cross-attention).
absl::Status ExportPeft(const std::string& folder, const Qwen3& model, const LoraSpec& lora,
                        const std::string& base_model);

// `zen export` once the checkpoint is chosen: writes `format` into `out` from `reader`'s checkpoint of
// `recipe`'s model. For peft without model.checkpoint the base weights exist only in the checkpoint: they
// are written to out/base (an hf folder, unmerged), which base_model_name_or_path names as
// `final_out`/base: the folder `out` is renamed to once complete (cli/export_command.cpp stages it).
absl::Status ExportCheckpoint(const Recipe& recipe, CheckpointReader& reader, ExportFormat format,
                              const std::string& out, const std::string& final_out);

}  // namespace zen
