#include "checkpoints/hf_export.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoints/base_fingerprint.h"  // defines: CheckBaseOf
#include "checkpoints/hf_checkpoint.h"  // defines: LoadHfWeights, SaveHfWeights
#include "checkpoints/peft_adapter.h"   // defines: PeftAdapterOf, WritePeftAdapter
#include "checkpoints/safetensors.h"    // defines: WriteSafetensors
#include "core/status.h"                // defines: BadInput, ZEN_ASSIGN_OR_RETURN
#include "models/lora.h"                // defines: ApplyLora, MergeLora
#include "parallel/layers.h"            // defines: ParallelLinearBase

namespace zen {
namespace {

namespace fs = std::filesystem;

// A Qwen3 config without max_position_embeddings gets transformers' default for Qwen3.
constexpr int64_t kDefaultMaxPosition = 40960;

// The token-mixer kinds of Qwen3-Next's layers (models/mixer_registry.h).
constexpr const char* kLinearAttention = "linear_attention";
constexpr const char* kGatedAttention = "gated_attention";

// A Qwen3-Next model (docs/qwen3-next.md): one of its mixers, its zero-centred norms or its gated shared expert.
bool IsQwen3Next(const ModelSpec& spec) {
  for (int64_t l = 0; l < spec.layers; ++l) {
    if (spec.MixerOf(l) == kLinearAttention || spec.MixerOf(l) == kGatedAttention) return true;
  }
  return spec.zero_centred_norms || spec.shared_expert_gate;
}

absl::Status WriteJson(const std::string& path, const nlohmann::json& json) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json.dump(2) << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

// The routed experts' fields of Qwen3-MoE and Qwen3-Next (zen's MoE layers are every moe_every-th; none
// when the model has no experts).
void AddMoeFields(const ModelSpec& spec, const MoeSpec& moe, nlohmann::json& c) {
  c["num_experts"] = spec.experts;
  c["num_experts_per_tok"] = spec.top_k;
  c["moe_intermediate_size"] = spec.expert_ffn;
  c["decoder_sparse_step"] = spec.moe_every;
  c["norm_topk_prob"] = true;
  c["mlp_only_layers"] = nlohmann::json::array();
  c["output_router_logits"] = false;
  c["router_aux_loss_coef"] = moe.aux_loss_coef;
}

// Qwen3-Next's MoE fields beside Qwen3-MoE's (transformers' Qwen3NextSparseMoeBlock always has the shared
// expert and its sigmoid gate).
absl::Status AddQwen3NextMoe(const ModelSpec& spec, nlohmann::json& c) {
  if (spec.IsMoe() && (spec.shared_ffn <= 0 || !spec.shared_expert_gate)) {
    return BadInput("model.shared_ffn / model.shared_expert_gate: transformers' Qwen3NextForCausalLM's MoE layers "
                    "always add a shared expert scaled by a sigmoid gate, so this model cannot be exported to Hugging "
                    "Face format");
  }
  c["shared_expert_intermediate_size"] = spec.shared_ffn;
  return absl::OkStatus();
}

// transformers' qwen3_next config: which layers are Gated DeltaNet ("linear_attention") or gated full
// attention ("full_attention", layer_types), the linear-attention shapes and the partial RoPE. BadInput
// naming the recipe key when the model has what Qwen3NextForCausalLM cannot hold.
absl::Status AddQwen3NextFields(const ModelSpec& spec, nlohmann::json& c) {
  nlohmann::json layer_types = nlohmann::json::array();
  for (int64_t l = 0; l < spec.layers; ++l) {
    const std::string kind = spec.MixerOf(l);
    if (kind != kLinearAttention && kind != kGatedAttention) {
      return BadInput(absl::StrCat("model.mixers: layer ", l, " is \"", kind, "\", but transformers' "
                                   "Qwen3NextForCausalLM has only \"", kLinearAttention, "\" (Gated DeltaNet) and \"",
                                   kGatedAttention, "\" layers, so this model cannot be exported to Hugging Face format"));
    }
    layer_types.push_back(kind == kLinearAttention ? "linear_attention" : "full_attention");
  }
  if (!spec.zero_centred_norms) {
    return BadInput("model.zero_centred_norms: transformers' Qwen3NextForCausalLM's norms are zero-centred "
                    "(x / rms(x) * (1 + w)), so this model cannot be exported to Hugging Face format");
  }
  if (spec.sliding_window > 0) {
    return BadInput("model.sliding_window: transformers' Qwen3NextForCausalLM has no sliding window, so this model "
                    "cannot be exported to Hugging Face format");
  }
  c["architectures"] = {"Qwen3NextForCausalLM"};
  c["model_type"] = "qwen3_next";
  c["layer_types"] = layer_types;
  c["linear_num_key_heads"] = spec.linear_num_key_heads;
  c["linear_num_value_heads"] = spec.linear_num_value_heads;
  c["linear_key_head_dim"] = spec.linear_key_head_dim;
  c["linear_value_head_dim"] = spec.linear_value_head_dim;
  c["linear_conv_kernel_dim"] = spec.linear_conv_kernel_dim;
  c["partial_rotary_factor"] = spec.partial_rotary_factor;
  c["rope_parameters"]["partial_rotary_factor"] = spec.partial_rotary_factor;
  c.erase("use_sliding_window");
  c.erase("sliding_window");
  return absl::OkStatus();
}

// Softmax(logits / T) = softmax(x (W / T)^T): transformers' router has no temperature.
void FoldRouterTemperature(Qwen3& model) {
  const double temperature = model->spec().router_temperature;
  if (!model->spec().IsMoe() || temperature == 1.0) return;
  torch::NoGradGuard no_grad;
  for (const auto& m : model->named_modules("", /*include_self=*/false)) {
    if (auto* block = dynamic_cast<MoeBlockImpl*>(m.value().get())) block->gate->weight.div_(temperature);
  }
}

}  // namespace

absl::StatusOr<nlohmann::json> HfConfig(const ModelSpec& spec, const MoeSpec& moe) {
  if (spec.IsMultimodal()) {
    return BadInput("model.vision.layers / model.audio.layers: transformers has no model class with Zen-Omni's "
                    "encoders and gated cross-attention layers, so an Omni model cannot be exported to Hugging Face "
                    "format (docs/omni.md); export --format peft for its adapters, or keep the zen checkpoint");
  }
  const int64_t max_position = spec.max_position > 0 ? spec.max_position : kDefaultMaxPosition;
  nlohmann::json c = {
      {"vocab_size", spec.vocab},
      {"hidden_size", spec.hidden},
      {"intermediate_size", spec.ffn},
      {"num_hidden_layers", spec.layers},
      {"num_attention_heads", spec.heads},
      {"num_key_value_heads", spec.KvHeads()},
      {"head_dim", spec.HeadDim()},
      {"hidden_act", "silu"},
      {"max_position_embeddings", max_position},
      {"rms_norm_eps", spec.norm_eps},
      {"rope_theta", spec.rope_theta},
      {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", spec.rope_theta}}},
      {"tie_word_embeddings", spec.tie_embeddings},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"use_sliding_window", spec.sliding_window > 0},
      {"sliding_window", spec.sliding_window > 0 ? nlohmann::json(spec.sliding_window) : nlohmann::json()},
      {"torch_dtype", "float32"},
  };
  if (IsQwen3Next(spec)) {
    ZEN_RETURN_IF_ERROR(AddQwen3NextFields(spec, c));
    ZEN_RETURN_IF_ERROR(AddQwen3NextMoe(spec, c));
    AddMoeFields(spec, moe, c);
    return c;
  }
  if (!spec.IsMoe()) {
    c["architectures"] = {"Qwen3ForCausalLM"};
    c["model_type"] = "qwen3";
    // Which layers use the window, layer by layer (transformers honours an explicit layer_types).
    nlohmann::json layer_types = nlohmann::json::array();
    for (int64_t l = 0; l < spec.layers; ++l) {
      layer_types.push_back(spec.IsSlidingLayer(l) ? "sliding_attention" : "full_attention");
    }
    c["layer_types"] = layer_types;
    c["max_window_layers"] = spec.layers;
    return c;
  }
  if (spec.shared_ffn > 0) {
    return BadInput("model.shared_ffn: transformers' Qwen3MoeForCausalLM has no shared expert, so this model "
                    "cannot be exported to Hugging Face format");
  }
  if (spec.sliding_window > 0 && !spec.sliding_layers.empty() &&
      static_cast<int64_t>(spec.sliding_layers.size()) != spec.layers) {
    return BadInput("model.sliding_layers: transformers' Qwen3MoeForCausalLM applies the sliding window to "
                    "every layer or none, so this model cannot be exported to Hugging Face format");
  }
  c["architectures"] = {"Qwen3MoeForCausalLM"};
  c["model_type"] = "qwen3_moe";
  AddMoeFields(spec, moe, c);
  return c;
}

absl::StatusOr<Qwen3> LoadCheckpointModel(const Recipe& recipe, CheckpointReader& reader) {
  ZEN_ASSIGN_OR_RETURN(Qwen3 model,
                       MakeQwen3(recipe.model, ModelGroups{}, StageRange::Whole(recipe.model), recipe.moe));
  // An adapter-only checkpoint holds no frozen base: it comes from model.checkpoint, once checked unchanged.
  const bool adapter_only = reader.manifest().AdapterOnly();
  if (adapter_only) {
    ZEN_RETURN_IF_ERROR(CheckBaseOf(reader, recipe.model.checkpoint));
    ZEN_RETURN_IF_ERROR(LoadHfWeights(recipe.model.checkpoint, *model, TpGroup{}));
  }
  ZEN_RETURN_IF_ERROR(ApplyLora(*model, recipe.lora).status());
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    if (adapter_only && !item.value().requires_grad() && !reader.Has("model/" + item.key())) continue;
    ZEN_ASSIGN_OR_RETURN(torch::Tensor full, reader.Full("model/" + item.key()));
    if (full.sizes() != item.value().sizes()) {
      return BadInput(absl::StrCat(reader.dir(), ": ", item.key(), " has shape ", c10::str(full.sizes()),
                                   " in the checkpoint, the recipe's model wants ", c10::str(item.value().sizes())));
    }
    item.value().copy_(full);
  }
  // Buffers the trainer saved as training state (state/<buffer>: an MoE layer's router_bias), so zen generate
  // routes as zen eval does.
  for (auto& item : model->named_buffers()) {
    if (!reader.Has("state/" + item.key())) continue;
    ZEN_ASSIGN_OR_RETURN(torch::Tensor full, reader.Full("state/" + item.key()));
    if (full.sizes() != item.value().sizes()) {
      return BadInput(absl::StrCat(reader.dir(), ": ", item.key(), " has shape ", c10::str(full.sizes()),
                                   " in the checkpoint, the recipe's model wants ", c10::str(item.value().sizes())));
    }
    item.value().copy_(full);
  }
  return model;
}

absl::Status WriteHfFolder(const std::string& folder, Qwen3& model, const MoeSpec& moe) {
  ZEN_ASSIGN_OR_RETURN(const nlohmann::json config, HfConfig(model->spec(), moe));
  FoldRouterTemperature(model);
  ZEN_RETURN_IF_ERROR(SaveHfWeights(folder, *model));
  return WriteJson((fs::path(folder) / "config.json").string(), config);
}

absl::Status ExportHf(const std::string& folder, Qwen3& model, const MoeSpec& moe) {
  MergeLora(*model);
  return WriteHfFolder(folder, model, moe);
}

absl::Status ExportPeft(const std::string& folder, const Qwen3& model, const LoraSpec& lora,
                        const std::string& base_model) {
  ZEN_ASSIGN_OR_RETURN(const PeftAdapter adapter, PeftAdapterOf(*model, model->spec(), lora, base_model));
  return WritePeftAdapter(folder, adapter);
}

absl::Status ExportCheckpoint(const Recipe& recipe, CheckpointReader& reader, ExportFormat format,
                              const std::string& out, const std::string& final_out) {
  ZEN_ASSIGN_OR_RETURN(Qwen3 model, LoadCheckpointModel(recipe, reader));
  if (format == ExportFormat::kHf) return ExportHf(out, model, recipe.moe);
  // The base is the recipe's Hugging Face checkpoint, or else zen's own initial weights, frozen in the checkpoint.
  const bool own_base = recipe.model.checkpoint.empty();
  const std::string base = fs::absolute(own_base ? fs::path(final_out) / "base" : fs::path(recipe.model.checkpoint))
                               .lexically_normal()
                               .string();
  ZEN_RETURN_IF_ERROR(ExportPeft(out, model, recipe.lora, base));
  return own_base ? WriteHfFolder((fs::path(out) / "base").string(), model, recipe.moe) : absl::OkStatus();
}

}  // namespace zen
