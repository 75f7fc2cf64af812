// A Hugging Face config.json defines the architecture it describes: the public Qwen3 configs give the
// published parameter counts under any recipe, the guide's model file leaks nothing into them, absent
// fields take transformers' class defaults, and what zen does not implement is refused naming the field.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "models/param_count.h"

namespace zen {
namespace {

namespace fs = std::filesystem;

const std::string kConfigs = std::string(ZEN_SOURCE_DIR) + "/configs/hf/";
std::string RecipePath(const std::string& model) {
  return std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-" + model + "-lora.yaml";
}

// Writes `text` to a fresh file in a per-process temporary folder and returns its path.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("zen_hf_config_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return (dir / name).string();
}

// `value` in billions with `decimals` decimals, as a model card prints it ("30.53").
std::string Billions(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value / 1e9);
  return text;
}

struct PublicConfig {
  const char* file;        // configs/hf/, the released config.json
  const char* recipe;      // any recipe: the config decides the architecture
  double total, active;    // exact, from the config's shapes (transformers' num_parameters() agrees on total)
  const char* card_total;  // the published figures, in billions
  const char* card_active;
  int decimals_total, decimals_active;
};

class PublicQwen3Configs : public ::testing::TestWithParam<PublicConfig> {};

TEST_P(PublicQwen3Configs, GiveThePublishedParameterCounts) {
  const PublicConfig& c = GetParam();
  auto loaded = LoadRecipe(RecipePath(c.recipe), {"model.hf_config=" + kConfigs + c.file});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ParamCounts counts = CountParams(loaded->recipe.model);
  EXPECT_EQ(counts.total, c.total);
  EXPECT_EQ(counts.active, c.active);
  EXPECT_EQ(Billions(counts.total, c.decimals_total), c.card_total);
  EXPECT_EQ(Billions(counts.active, c.decimals_active), c.card_active);
}

// Dense: the model cards' exact totals. MoE, per layer (attention + 2 head_dim norms + 2 norms + router +
// experts) x layers + untied embedding and head + final norm, e.g. Qwen3-30B-A3B:
// (18,874,368 + 256 + 4,096 + 262,144 + 128 x 3 x 2048 x 768) x 48 + 2 x 151,936 x 2048 + 2048; active
// counts 8 experts instead of 128.
INSTANTIATE_TEST_SUITE_P(
    HfConfig, PublicQwen3Configs,
    ::testing::Values(
        PublicConfig{"qwen3-0.6b.json", "nano", 596049920.0, 596049920.0, "0.6", "0.6", 1, 1},
        PublicConfig{"qwen3-4b.json", "eco", 4022468096.0, 4022468096.0, "4.0", "4.0", 1, 1},
        PublicConfig{"qwen3-30b-a3b.json", "coder", 30532122624.0, 3353032704.0, "30.53", "3.35", 2, 2},
        PublicConfig{"qwen3-coder-480b-a35b-instruct.json", "coder", 480154875392.0, 35474765312.0, "480.15",
                     "35.5", 2, 1},
        // Qwen3-Next-80B-A3B without its MTP head (mtp.*, 1,650,471,424 more; zen does not build it): total as
        // transformers' num_parameters(); active counts 10 of 512 experts and both vocab tables (the card's
        // "3B activated" leaves the 0.62B of tables out: 3.25B).
        PublicConfig{"qwen3-next-80b-a3b.json", "next", 79674391296.0, 3874929408.0, "80", "3.87", 0, 2}),
    [](const auto& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find(".json"));
      std::string out;
      for (char ch : name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return out;
    });

TEST(HfConfig, GuideModelFileKeysDoNotLeakIntoTheConfigsArchitecture) {
  // Zen-Coder's guide file has a 4096-wide shared expert, 64 experts and vocab 161000.
  auto coder = LoadRecipe(RecipePath("coder"), {"model.hf_config=" + kConfigs + "qwen3-30b-a3b.json"});
  ASSERT_TRUE(coder.ok()) << coder.status();
  const ModelSpec& m = coder->recipe.model;
  EXPECT_EQ(m.shared_ffn, 0);
  EXPECT_EQ(m.experts, 128);
  EXPECT_EQ(m.vocab, 151936);
  EXPECT_EQ(m.router_temperature, 1.0);
  EXPECT_EQ(m.name, "zen-coder");                        // names and the guide's figures stay
  EXPECT_EQ(coder->recipe.reference.params_total, 480e9);
  // Zen-Omni's guide file has encoders and cross-modal layers; Zen-Eco's a sliding window.
  auto omni = LoadRecipe(RecipePath("omni"), {"model.hf_config=" + kConfigs + "qwen3-30b-a3b.json"});
  ASSERT_TRUE(omni.ok()) << omni.status();
  EXPECT_EQ(omni->recipe.model.vision.layers, 0);
  EXPECT_EQ(omni->recipe.model.audio.layers, 0);
  EXPECT_EQ(omni->recipe.model.cross_attn_every, 0);
  EXPECT_EQ(CountParams(omni->recipe.model).total, 30532122624.0);
  auto eco = LoadRecipe(RecipePath("eco"), {"model.hf_config=" + kConfigs + "qwen3-4b.json"});
  ASSERT_TRUE(eco.ok()) << eco.status();
  EXPECT_EQ(eco->recipe.model.sliding_window, 0);
  // A dense config under a MoE recipe is dense.
  auto dense = LoadRecipe(RecipePath("coder"), {"model.hf_config=" + kConfigs + "qwen3-0.6b.json"});
  ASSERT_TRUE(dense.ok()) << dense.status();
  EXPECT_FALSE(dense->recipe.model.IsMoe());
  EXPECT_EQ(CountParams(dense->recipe.model).total, 596049920.0);
}

TEST(HfConfig, TheCheckpointFoldersConfigDefinesTheModelToo) {
  std::ifstream public_config(kConfigs + "qwen3-30b-a3b.json");
  const std::string config = WriteTemp("config.json", std::string(std::istreambuf_iterator<char>(public_config), {}));
  auto loaded = LoadRecipe(RecipePath("coder"), {"model.checkpoint=" + fs::path(config).parent_path().string()});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->recipe.model.shared_ffn, 0);
  EXPECT_EQ(CountParams(loaded->recipe.model).total, 30532122624.0);
}

TEST(HfConfig, TheRecipesOwnModelKeysAndOverridesStillWin) {
  const std::string config = kConfigs + "qwen3-30b-a3b.json";
  const std::string recipe = WriteTemp("coder.yaml", "model:\n  file: " + std::string(ZEN_SOURCE_DIR) + "/configs/models/zen-coder.yaml" +
                                                         "\n  hf_config: " + config + "\n  layers: 4\n" +
                                                         "train:\n  max_steps: 1\ndata:\n  source: demo\n");
  auto loaded = LoadRecipe(recipe, {"model.shared_ffn=512"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->recipe.model.layers, 4);
  EXPECT_EQ(loaded->recipe.model.shared_ffn, 512);
  EXPECT_EQ(loaded->recipe.model.hidden, 2048);
}

// transformers 5.24: Qwen3Config() and Qwen3MoeConfig() (tests/cli/hf_config_defines_model.sh checks
// the same against the classes themselves).
TEST(HfConfig, AbsentFieldsTakeTheTransformersClassDefaults) {
  auto dense = LoadRecipe(RecipePath("coder"), {"model.hf_config=" + WriteTemp("qwen3.json", R"({"model_type": "qwen3"})")});
  ASSERT_TRUE(dense.ok()) << dense.status();
  const ModelSpec& d = dense->recipe.model;
  EXPECT_EQ(d.layers, 32);
  EXPECT_EQ(d.hidden, 4096);
  EXPECT_EQ(d.KvHeads(), 32);
  EXPECT_EQ(d.HeadDim(), 128);
  EXPECT_EQ(d.ffn, 22016);
  EXPECT_EQ(d.max_position, 32768);
  EXPECT_EQ(d.rope_theta, 10000.0);
  EXPECT_FALSE(d.tie_embeddings);
  EXPECT_FALSE(d.IsMoe());
  auto moe = LoadRecipe(RecipePath("nano"), {"model.hf_config=" + WriteTemp("moe.json",
                                                                          R"({"model_type": "qwen3_moe", "norm_topk_prob": true})")});
  ASSERT_TRUE(moe.ok()) << moe.status();
  const ModelSpec& m = moe->recipe.model;
  EXPECT_EQ(m.layers, 24);
  EXPECT_EQ(m.hidden, 2048);
  EXPECT_EQ(m.KvHeads(), 4);
  EXPECT_EQ(m.HeadDim(), 64);  // no head_dim field: hidden / heads
  EXPECT_EQ(m.experts, 128);
  EXPECT_EQ(m.top_k, 8);
  EXPECT_EQ(m.expert_ffn, 768);
  EXPECT_EQ(m.moe_every, 1);
  EXPECT_EQ(m.shared_ffn, 0);
  // num_key_value_heads: null is multi-head attention; transformers 5 writes num_experts as num_local_experts.
  auto spelled = LoadRecipe(RecipePath("nano"), {"model.hf_config=" + WriteTemp("spelled.json", R"({"model_type":
      "qwen3_moe", "norm_topk_prob": true, "num_key_value_heads": null, "num_local_experts": 6, "num_experts_per_tok": 2})")});
  ASSERT_TRUE(spelled.ok()) << spelled.status();
  EXPECT_EQ(spelled->recipe.model.KvHeads(), 32);
  EXPECT_EQ(spelled->recipe.model.experts, 6);
}

TEST(HfConfig, SlidingWindowLayersFollowTransformers) {
  const auto load = [](const std::string& name, const std::string& json) {
    return LoadRecipe(RecipePath("nano"), {"model.hf_config=" + WriteTemp(name, json), "train.seq_len=64"});
  };
  // Qwen3 without layer_types windows the layers from max_window_layers on.
  auto derived = load("w1.json", R"({"model_type": "qwen3", "num_hidden_layers": 4, "use_sliding_window": true,
      "sliding_window": 64, "max_window_layers": 2})");
  ASSERT_TRUE(derived.ok()) << derived.status();
  EXPECT_EQ(derived->recipe.model.sliding_window, 64);
  EXPECT_EQ(derived->recipe.model.sliding_layers, (std::vector<int64_t>{2, 3}));
  auto listed = load("w2.json", R"({"model_type": "qwen3", "num_hidden_layers": 3, "use_sliding_window": true,
      "sliding_window": 64, "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]})");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->recipe.model.sliding_layers, (std::vector<int64_t>{0, 2}));
  // Qwen3-MoE windows every layer; no use_sliding_window, no window whatever sliding_window says.
  auto moe = load("w3.json", R"({"model_type": "qwen3_moe", "norm_topk_prob": true, "num_hidden_layers": 3,
      "use_sliding_window": true, "sliding_window": 64})");
  ASSERT_TRUE(moe.ok()) << moe.status();
  EXPECT_EQ(moe->recipe.model.sliding_window, 64);
  EXPECT_TRUE(moe->recipe.model.IsSlidingLayer(0) && moe->recipe.model.IsSlidingLayer(2));
  auto off = load("w4.json", R"({"model_type": "qwen3", "sliding_window": 64})");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->recipe.model.sliding_window, 0);
}

TEST(HfConfig, WhatZenDoesNotImplementIsRefusedNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // Qwen3-Next: a layer kind, a window, a layer count or head shapes zen does not build.
      {R"({"model_type": "qwen3_next", "num_hidden_layers": 2, "layer_types": ["linear_attention", "sliding_attention"]})",
       "layer_types: \"sliding_attention\" (layer 1)"},
      {R"({"model_type": "qwen3_next", "num_hidden_layers": 2, "layer_types": ["linear_attention"]})",
       "layer_types: 1 entries for 2 layers"},
      {R"({"model_type": "qwen3_next", "use_sliding_window": true})", "use_sliding_window:"},
      {R"({"model_type": "qwen3_next", "full_attention_interval": 0})", "full_attention_interval: must be"},
      {R"({"model_type": "qwen3_next", "partial_rotary_factor": 1.5})", "partial_rotary_factor: expected a number in (0, 1]"},
      {R"({"model_type": "qwen3_next", "linear_num_value_heads": 24})",
       "linear_num_value_heads: model.linear_num_value_heads: must be a positive multiple"},
      {R"({"model_type": "qwen3_moe", "norm_topk_prob": true, "linear_num_key_heads": 16})", "linear_num_key_heads:"},
      {R"({"hidden_size": 64})", "model_type: missing"},
      {R"({"model_type": "llama"})", "model_type: \"llama\": not a model zen implements"},
      {R"({"model_type": "qwen3_omni_moe"})", "model_type: \"qwen3_omni_moe\": Qwen3-Omni is not implemented"},
      {R"({"model_type": "qwen3", "partial_rotary_factor": 0.5})", "partial_rotary_factor: 0.5"},
      {R"({"model_type": "qwen3", "rope_parameters": {"rope_type": "default", "rope_theta": 1e6,
          "partial_rotary_factor": 0.25}})", "partial_rotary_factor: 0.25"},
      {R"({"model_type": "qwen3", "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
          "original_max_position_embeddings": 32768}})", "rope_scaling: rope_type \"yarn\""},
      {R"({"model_type": "qwen3", "rope_parameters": {"type": "linear", "factor": 2.0}})",
       "rope_parameters: rope_type \"linear\""},
      {R"({"model_type": "qwen3", "attention_bias": true})", "attention_bias:"},
      {R"({"model_type": "qwen3", "hidden_act": "gelu"})", "hidden_act: \"gelu\""},
      {R"({"model_type": "qwen3", "num_hidden_layers": 2, "layer_types": ["linear_attention", "full_attention"]})",
       "layer_types: \"linear_attention\" (layer 0)"},
      {R"({"model_type": "qwen3", "full_attention_interval": 4})", "full_attention_interval:"},
      {R"({"model_type": "qwen3_moe"})", "norm_topk_prob: absent"},
      {R"({"model_type": "qwen3_moe", "norm_topk_prob": false})", "norm_topk_prob: false"},
      {R"({"model_type": "qwen3_moe", "norm_topk_prob": true, "mlp_only_layers": [0]})", "mlp_only_layers:"},
      {R"({"model_type": "qwen3_moe", "norm_topk_prob": true, "shared_expert_intermediate_size": 512})",
       "shared_expert_intermediate_size:"},
      {R"({"model_type": "qwen3", "num_hidden_layers": "28"})", "num_hidden_layers: expected an integer, got \"28\""},
      {R"([1, 2])", "not a JSON object"},
  };
  int index = 0;
  for (const auto& [json, expected] : cases) {
    const std::string path = WriteTemp("refused" + std::to_string(index++) + ".json", json);
    auto loaded = LoadRecipe(RecipePath("coder"), {"model.hf_config=" + path});
    ASSERT_FALSE(loaded.ok()) << json;
    EXPECT_TRUE(IsBadInput(loaded.status())) << loaded.status();
    EXPECT_EQ(loaded.status().message().rfind(path + ": " + expected, 0), 0u) << loaded.status();
  }
}

TEST(HfConfig, ValidationMessagesNameTheConfigField) {
  const std::string path = WriteTemp("kv.json", R"({"model_type": "qwen3", "num_attention_heads": 6,
      "num_key_value_heads": 4})");
  auto loaded = LoadRecipe(RecipePath("nano"), {"model.hf_config=" + path});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message().rfind(path + ": num_key_value_heads: model.kv_heads: must divide", 0), 0u)
      << loaded.status();
}

}  // namespace
}  // namespace zen
