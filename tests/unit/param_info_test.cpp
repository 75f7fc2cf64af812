// Every parameter of the real models carries a declared ParamInfo (parallel/param_info.h), and the
// declarations say what the name and type rules they replaced said (the rules are spelled out here, as
// the oracle): no behaviour changed when splitting, gradient sync, init and checkpoints moved onto them.
#include "parallel/param_info.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"  // defines: TinyLora
#include "tests/unit/omni_test_util.h"   // defines: TinyOmniSpec

namespace zen {
namespace {

// The dense, MoE (with a shared expert), cross-attention, vision and audio parts, under tp = 2 on rank 1
// (no communication happens at construction), with LoRA on every kind of linear.
Qwen3 EverythingModel(const TpGroup& tp) {
  torch::manual_seed(3);
  ModelSpec spec = testing::TinyOmniSpec();
  spec.shared_ffn = 32;
  spec.moe_every = 2;  // layers 1 and 3 MoE, 0 and 2 dense
  Qwen3 model(spec, tp, StageRange::Whole(spec));
  const LoraSpec lora = testing::TinyLora({"q", "k", "v", "o", "gate", "up", "down", "router", "experts.*.mlp",
                                           "shared", "cross_attn"});
  EXPECT_TRUE(ApplyLora(*model, lora).ok());
  return model;
}

// The rules the declarations replaced: a name's split dim under tp > 1 came from its layer's type, the
// rest from these suffixes.
bool OldExpertRule(const std::string& name) { return name.find(".mlp.experts.") != std::string::npos; }
bool OldAdapterRule(const std::string& name) {
  return absl::EndsWith(name, ".lora_A") || absl::EndsWith(name, ".lora_B");
}
InitRule OldInitRule(const std::string& name, bool layer_norm) {
  if (absl::EndsWith(name, "norm.weight")) return InitRule::kOne;
  if (absl::EndsWith(name, "embed_positions.weight")) return InitRule::kKeep;
  if (layer_norm) return absl::EndsWith(name, ".weight") ? InitRule::kOne : InitRule::kZero;
  if (absl::EndsWith(name, ".bias") || absl::EndsWith(name, "_gate")) return InitRule::kZero;
  return InitRule::kNormal;
}
bool IsLayerNormParameter(const std::string& name) {
  for (const char* norm : {"layer_norm1.", "layer_norm2.", "pre_layrnorm.", "post_layernorm.", "self_attn_layer_norm.",
                           "final_layer_norm.", "audio_tower.layer_norm.", "projector.norm."}) {
    if (name.find(norm) != std::string::npos) return true;
  }
  return false;
}

TEST(ParamInfo, EveryParameterOfTheModelIsDeclared) {
  Qwen3 model = EverythingModel(TpGroup{nullptr, 1, 2});
  EXPECT_TRUE(UndeclaredParameters(*model).empty()) << UndeclaredParameters(*model).front();
  EXPECT_EQ(ParamInfos(*model).size(), model->named_parameters().size());
}

TEST(ParamInfo, DeclarationsSayWhatTheReplacedNameRulesSaid) {
  Qwen3 model = EverythingModel(TpGroup{nullptr, 1, 2});
  const auto infos = ParamInfos(*model);
  int64_t experts = 0, adapters = 0, partial = 0, split = 0;
  for (const auto& [name, info] : infos) {
    EXPECT_EQ(info.expert, OldExpertRule(name)) << name;
    EXPECT_EQ(info.adapter, OldAdapterRule(name)) << name;
    if (!info.adapter) EXPECT_EQ(info.init, OldInitRule(name, IsLayerNormParameter(name))) << name;
    experts += info.expert, adapters += info.adapter, partial += info.grad_partial_over.tp, split += info.split_dim >= 0;
  }
  EXPECT_GT(experts, 0);
  EXPECT_GT(adapters, 0);
  EXPECT_GT(split, 0);
  // Partial over tp: the per-head q/k norms, the adapter factor held whole beside a split one, and the
  // MoE router with its adapters (under tp > 1 each tp rank routes its own share of the tokens:
  // parallel/expert_tokens.h, docs/moe.md).
  for (const auto& [name, info] : infos) {
    const bool qk_norm = absl::EndsWith(name, "q_norm.weight") || absl::EndsWith(name, "k_norm.weight");
    const bool router = name.find(".mlp.gate.") != std::string::npos;
    bool beside_split = false;
    if (info.adapter) {
      const std::string weight = name.substr(0, name.rfind('.')) + ".weight";
      beside_split = info.split_dim < 0 && infos.at(weight).split_dim >= 0;
    }
    EXPECT_EQ(info.grad_partial_over.tp, qk_norm || beside_split || router) << name;
  }
  EXPECT_GT(partial, 0);
  EXPECT_EQ(infos.at("model.layers.1.mlp.shared_expert.up_proj.weight").expert, false);
  EXPECT_EQ(infos.at("model.layers.1.mlp.experts.0.up_proj.lora_B").expert, true);
  EXPECT_EQ(infos.at("model.layers.0.self_attn.q_proj.lora_A").grad_partial_over.tp, true);
  EXPECT_EQ(infos.at("model.layers.0.self_attn.o_proj.lora_B").grad_partial_over.tp, true);
  EXPECT_EQ(infos.at("model.layers.0.self_attn.o_proj.lora_A").split_dim, 1);
  EXPECT_EQ(infos.at("model.layers.1.mlp.gate.weight").split_dim, -1);  // the router, whole on every rank
  EXPECT_EQ(infos.at("model.layers.1.mlp.gate.weight").grad_partial_over.tp, true);  // routing a token share
}

TEST(ParamInfo, MergingAnAdapterRemovesItsDeclarations) {
  ColumnParallelLinear linear(8, 4, TpGroup{});
  linear->AttachLora(2, 1.0, 0.0);
  EXPECT_EQ(ParamInfos(*linear).count("lora_A"), 1u);
  linear->MergeLora();
  EXPECT_EQ(ParamInfos(*linear).count("lora_A"), 0u);
  EXPECT_TRUE(UndeclaredParameters(*linear).empty());
}

}  // namespace
}  // namespace zen
