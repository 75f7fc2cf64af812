// PEFT adapters out and back in (checkpoints/peft_adapter.h) on a tiny MoE with a shared expert, a dense
// layer and a router temperature: every adapter, written in PEFT's form (fused experts, block-diagonal
// gate_up) and read into a fresh model, comes back exactly; the file's form is what peft's ParamWrapper
// expects; what does not fit is BadInput naming the tensor. peft itself loads these files in
// tests/unit/hf_export_test.cpp and tests/cli/moe_peft_adapter.sh.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "checkpoints/peft_adapter.h"
#include "checkpoints/safetensors.h"
#include "core/status.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir

namespace zen {
namespace {

using testing::ScratchDir;
using testing::TinyLora;

// 4 experts of width 16, top 2, a shared expert of width 24, layer 0 dense, router temperature 0.5.
ModelSpec TinyMoe() {
  ModelSpec spec = testing::TinySpec(/*tied=*/false, /*kv_heads=*/2);
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  spec.shared_ffn = 24;
  spec.moe_every = 2;
  spec.router_temperature = 0.5;
  return spec;
}

const LoraSpec& Lora() {
  static const LoraSpec lora = TinyLora({"q", "v", "gate", "up", "down", "router", "experts.*.mlp", "shared"});
  return lora;
}

// The model with LoRA attached; with `trained`, every adapter factor drawn away from its initial value.
Qwen3 Adapted(bool trained, uint64_t seed) {
  torch::manual_seed(seed);
  Qwen3 model(TinyMoe(), TpGroup{}, StageRange::Whole(TinyMoe()), MoeSpec{});
  EXPECT_TRUE(ApplyLora(*model, Lora()).ok());
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    if (trained && absl::StrContains(p.key(), ".lora_")) p.value().normal_(0.0, 0.2);
  }
  return model;
}

std::string Export(const Qwen3& model, const ScratchDir& dir) {
  auto adapter = PeftAdapterOf(*model, model->spec(), Lora(), "base");
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  const std::string folder = dir / "adapter";
  EXPECT_TRUE(WritePeftAdapter(folder, *adapter).ok());
  return folder;
}

absl::Status Import(const std::string& folder, Qwen3& model) {
  return LoadPeftAdapter(folder, *model, model->spec(), Lora(), TpGroup{});
}

TEST(PeftAdapter, EveryAdapterRoundTripsExactlyThroughPeftsForm) {
  ScratchDir dir("peft_adapter_round_trip");
  Qwen3 trained = Adapted(/*trained=*/true, 1);
  const std::string folder = Export(trained, dir);
  Qwen3 fresh = Adapted(/*trained=*/false, 2);
  ASSERT_TRUE(Import(folder, fresh).ok()) << Import(folder, fresh);
  auto want = trained->named_parameters();
  int64_t adapters = 0;
  std::string names;
  for (const auto& p : fresh->named_parameters()) {
    if (!absl::StrContains(p.key(), ".lora_")) continue;
    ++adapters;
    names += p.key() + " ";
    // The router's lora_B goes through / T and * T (T = 0.5: exact).
    EXPECT_TRUE(torch::equal(p.value(), want[p.key()])) << p.key();
  }
  // Two factors of: layer 0's q, v, gate, up, down; layer 1's q, v, router, 4 experts x 3, shared x 3.
  EXPECT_EQ(adapters, 2 * (5 + 18)) << names;
}

TEST(PeftAdapter, FusedExpertsHoldEachExpertsFactorsInParamWrappersLayout) {
  ScratchDir dir("peft_adapter_layout");
  Qwen3 model = Adapted(/*trained=*/true, 3);
  auto adapter = PeftAdapterOf(*model, model->spec(), Lora(), "base");
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  std::map<std::string, torch::Tensor> tensors(adapter->tensors.begin(), adapter->tensors.end());
  const std::string gate_up = "base_model.model.model.layers.1.mlp.experts.base_layer.";
  const std::string down = "base_model.model.model.layers.1.mlp.experts.";
  ASSERT_TRUE(tensors.count(gate_up + "lora_B.weight") && tensors.count(down + "lora_A.weight"));
  auto params = model->named_parameters();
  const std::string expert2 = "model.layers.1.mlp.experts.2.";
  const int64_t e = 2, experts = 4, r = 4, ffn = 16;
  // gate_up: A rows [e 2r, (e+1) 2r) = [A_gate; A_up]; B column j E + e, rows [0, I) B_gate (j < r), [I, 2I) B_up.
  const torch::Tensor a = tensors[gate_up + "lora_A.weight"], b = tensors[gate_up + "lora_B.weight"];
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({experts * 2 * r, 32}));
  EXPECT_EQ(b.sizes(), torch::IntArrayRef({2 * ffn, 2 * r * experts}));
  EXPECT_TRUE(torch::equal(a.slice(0, e * 2 * r, e * 2 * r + r), params[expert2 + "gate_proj.lora_A"]));
  EXPECT_TRUE(torch::equal(a.slice(0, e * 2 * r + r, (e + 1) * 2 * r), params[expert2 + "up_proj.lora_A"]));
  for (int64_t j = 0; j < 2 * r; ++j) {
    const torch::Tensor column = b.select(1, j * experts + e);
    const torch::Tensor gate = j < r ? params[expert2 + "gate_proj.lora_B"].select(1, j) : torch::zeros({ffn});
    const torch::Tensor up = j < r ? torch::zeros({ffn}) : params[expert2 + "up_proj.lora_B"].select(1, j - r);
    EXPECT_TRUE(torch::equal(column, torch::cat({gate, up}))) << "column " << j;
  }
  // down: A rows [e r, (e+1) r), B column j E + e.
  EXPECT_TRUE(torch::equal(tensors[down + "lora_A.weight"].slice(0, e * r, (e + 1) * r),
                           params[expert2 + "down_proj.lora_A"]));
  EXPECT_TRUE(torch::equal(tensors[down + "lora_B.weight"].select(1, 3 * experts + e),
                           params[expert2 + "down_proj.lora_B"].select(1, 3)));
  const auto& config = adapter->config;
  EXPECT_EQ(config["target_modules"], nlohmann::json({"q_proj", "v_proj"}));
  EXPECT_EQ(config["target_parameters"],
            nlohmann::json({"mlp.down_proj.weight", "mlp.experts.down_proj", "mlp.experts.gate_up_proj",
                            "mlp.gate.weight", "mlp.gate_proj.weight", "mlp.shared_expert.down_proj.weight",
                            "mlp.shared_expert.gate_proj.weight", "mlp.shared_expert.up_proj.weight",
                            "mlp.up_proj.weight"}));
  EXPECT_EQ(config["rank_pattern"][R"(.*\.gate_up_proj)"], 8);
  EXPECT_EQ(config["alpha_pattern"][R"(.*\.gate_up_proj)"], 16.0);
}

// Sets (replaces or adds) one tensor of the exported file.
void Edit(const std::string& folder, const std::string& key, const torch::Tensor& value) {
  const std::string file = folder + "/adapter_model.safetensors";
  auto tensors = ReadSafetensors(file);
  ASSERT_TRUE(tensors.ok());
  std::map<std::string, torch::Tensor> edited;
  for (const auto& [name, t] : *tensors) edited[name] = t.clone();
  edited[key] = value;
  ASSERT_TRUE(WriteSafetensors(file, {edited.begin(), edited.end()}).ok());
}

TEST(PeftAdapter, WhatDoesNotFitIsBadInputNamingTheTensor) {
  ScratchDir dir("peft_adapter_bad");
  const std::string folder = Export(Adapted(/*trained=*/true, 4), dir);
  const std::string gate_up_b = "base_model.model.model.layers.1.mlp.experts.base_layer.lora_B.weight";
  Qwen3 model = Adapted(/*trained=*/false, 5);

  Edit(folder, gate_up_b, torch::ones({32, 32}));  // no zero blocks: one A shared by gate and up
  absl::Status status = Import(folder, model);
  EXPECT_TRUE(IsBadInput(status) && absl::StrContains(status.message(), gate_up_b + ": expert 0")) << status;

  Edit(folder, gate_up_b, torch::zeros({32, 24}));  // as if the base had 3 experts
  status = Import(folder, model);
  EXPECT_TRUE(IsBadInput(status) && absl::StrContains(status.message(), gate_up_b + " has shape [32, 24]")) << status;

  Edit(folder, gate_up_b, torch::zeros({32, 32}));
  const std::string extra = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";  // k is not a target
  Edit(folder, extra, torch::zeros({4, 32}));
  Edit(folder, "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight", torch::zeros({16, 4}));
  status = Import(folder, model);
  EXPECT_TRUE(IsBadInput(status) && absl::StrContains(status.message(), extra)) << status;
}

}  // namespace
}  // namespace zen
