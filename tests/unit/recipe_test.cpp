// The recipe system: file + model file + overrides, the strict schema, and messages that name the key.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/derived.h"
#include "core/recipe_loader.h"
#include "core/recipe_warnings.h"
#include "parallel/grid.h"  // defines: CheckLayoutShapes

namespace zen {
namespace {

namespace fs = std::filesystem;

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

// Writes `text` to a fresh file in a per-test temporary folder and returns its path.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("zen_recipe_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return (dir / name).string();
}

TEST(Recipe, ShippedRecipesLoadAndValidate) {
  for (const char* name : {"nano", "eco", "coder", "omni", "next"}) {
    auto loaded = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-" + name + "-lora.yaml", {});
    EXPECT_TRUE(loaded.ok()) << name << ": " << loaded.status();
  }
}

TEST(Recipe, NanoEncodesTheGuidesLoraAndTrainingRows) {
  auto loaded = LoadRecipe(kNano, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Recipe& r = loaded->recipe;
  EXPECT_EQ(r.model.layers, 24);
  EXPECT_EQ(r.model.hidden, 1024);
  EXPECT_EQ(r.model.ffn, 2816);
  EXPECT_EQ(r.model.vocab, 151936);
  EXPECT_TRUE(r.lora.enabled);
  EXPECT_EQ(r.lora.rank, 8);
  EXPECT_EQ(r.lora.alpha, 16);
  EXPECT_EQ(r.lora.targets, (std::vector<std::string>{"q", "v", "o", "gate", "up", "down"}));
  EXPECT_DOUBLE_EQ(r.train.token_budget, 100e9);
  EXPECT_EQ(r.train.global_batch_size, 64);
  EXPECT_DOUBLE_EQ(r.optim.lr, 5e-5);
}

TEST(Recipe, EachShippedRecipePointsAtItsPreparedShardsAndZenCoderTurnsFimOn) {
  for (const char* name : {"nano", "eco", "coder", "omni", "next"}) {
    auto loaded = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-" + name + "-lora.yaml", {});
    ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.status();
    const DataSpec& d = loaded->recipe.data;
    const std::string model = std::string("zen-") + name;
    EXPECT_EQ(d.source, "") << name;  // training reads data.path unless told data.source=demo
    EXPECT_EQ(d.path, "data/" + model);
    EXPECT_EQ(d.prepare.inputs, std::vector<std::string>{"data/" + model + ".jsonl"});
    EXPECT_EQ(loaded->recipe.tokenizer.path, "data/qwen3-tokenizer/tokenizer.json") << name;
    if (model == "zen-coder") {
      EXPECT_EQ(d.prepare.format, "jsonl");
      EXPECT_DOUBLE_EQ(d.prepare.fim_rate, 0.5);
    } else {
      EXPECT_EQ(d.prepare.format, "chat") << name;
      EXPECT_EQ(d.prepare.loss_mask, "assistant") << name;
      EXPECT_DOUBLE_EQ(d.prepare.fim_rate, 0) << name;
    }
  }
}

// The demo task trains with the byte tokenizer, so a demo run's recipe (and its config.resolved.yaml)
// names that one, not the Qwen3 tokenizer.json its recipe file gives for real data.
TEST(Recipe, TheDemoSourceResolvesTheByteTokenizer) {
  auto demo = LoadRecipe(kNano, {"data.source=demo", "model.vocab=512"});
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(demo->recipe.tokenizer.path, "bytes");
  EXPECT_NE(ResolvedYaml(demo->recipe).find("path: bytes"), std::string::npos) << ResolvedYaml(demo->recipe);
  auto shards = LoadRecipe(kNano, {"tokenizer.path=other/tokenizer.json"});
  ASSERT_TRUE(shards.ok()) << shards.status();
  EXPECT_EQ(shards->recipe.tokenizer.path, "other/tokenizer.json");
}

TEST(Recipe, OverridesReplaceValuesParsedAsYaml) {
  auto loaded = LoadRecipe(kNano, {"model.layers=2", "optim.lr=2e-3", "lora.targets=[q, v]", "train.dtype=bf16"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->recipe.model.layers, 2);
  EXPECT_DOUBLE_EQ(loaded->recipe.optim.lr, 2e-3);
  EXPECT_EQ(loaded->recipe.lora.targets, (std::vector<std::string>{"q", "v"}));
  EXPECT_EQ(loaded->recipe.train.dtype, "bf16");
}

TEST(Recipe, DeletingLoraMeansFullFineTuning) {
  auto loaded = LoadRecipe(kNano, {"~lora"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->recipe.lora.enabled);
}

TEST(Recipe, MisspeltOverrideIsBadInputNamingTheKeyAndSuggestingTheRightOne) {
  auto loaded = LoadRecipe(kNano, {"train.max_stepz=3"});
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(IsBadInput(loaded.status()));
  EXPECT_NE(loaded.status().message().find("train.max_stepz"), std::string::npos);
  EXPECT_NE(loaded.status().message().find("did you mean train.max_steps"), std::string::npos);
}

TEST(Recipe, UnknownKeyInAFileNamesFileAndLine) {
  const std::string model = WriteTemp("m.yaml", "model:\n  layers: 2\n  hidden: 64\n  heads: 4\n  ffn: 128\n"
                                                "  vocab: 300\n  max_position: 64\n");
  const std::string recipe = WriteTemp("r.yaml", "model:\n  file: m.yaml\ntrain:\n  max_steps: 3\n  seq_len: 16\n"
                                                 "  bogus_key: 1\ndata:\n  source: demo\n");
  auto loaded = LoadRecipe(recipe, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(IsBadInput(loaded.status()));
  EXPECT_NE(loaded.status().message().find("r.yaml:6: train.bogus_key: unknown key"), std::string::npos)
      << loaded.status();
}

TEST(Recipe, WrongTypeNamesKeyFileAndLine) {
  const std::string model = WriteTemp("m2.yaml", "model:\n  layers: banana\n");
  const std::string recipe = WriteTemp("r2.yaml", "model:\n  file: m2.yaml\n");
  auto loaded = LoadRecipe(recipe, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("m2.yaml:2: model.layers: expected an integer, got \"banana\""),
            std::string::npos)
      << loaded.status();
}

TEST(Recipe, ImpossibleValuesAreRejectedWithTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"model.kv_heads=5", "model.kv_heads"},         {"train.global_batch_size=63", "train.global_batch_size"},
      {"optim.lr=-1", "optim.lr"},                     {"lora.rank=0", "lora.rank"},
      {"train.dtype=fp8", "train.dtype"},              {"parallel.schedule=zigzag", "parallel.schedule"},
      {"lora.targets=[q, nonsense]", "lora.targets"}, {"train.seq_len=100000", "train.seq_len"},
  };
  for (const auto& [override_text, key] : cases) {
    auto loaded = LoadRecipe(kNano, {override_text});
    ASSERT_FALSE(loaded.ok()) << override_text;
    EXPECT_TRUE(IsBadInput(loaded.status())) << override_text;
    EXPECT_NE(loaded.status().message().find(key), std::string::npos) << loaded.status();
  }
}

TEST(Recipe, ResolvedYamlLoadsBackToTheSameRecipe) {
  auto first = LoadRecipe(kNano, {"model.layers=3", "optim.lr=1e-3"});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string path = WriteTemp("resolved.yaml", ResolvedYaml(first->recipe));
  auto second = LoadRecipe(path, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(ResolvedYaml(second->recipe), ResolvedYaml(first->recipe));
}

TEST(Recipe, HuggingFaceConfigSuppliesTheShapes) {
  const std::string config = WriteTemp("config.json", R"({"model_type": "qwen3", "num_hidden_layers": 3, "hidden_size": 96,
    "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 160,
    "vocab_size": 320, "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
    "tie_word_embeddings": true})");
  auto loaded = LoadRecipe(kNano, {"model.hf_config=" + config, "train.seq_len=64"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ModelSpec& m = loaded->recipe.model;
  EXPECT_EQ(m.layers, 3);
  EXPECT_EQ(m.hidden, 96);
  EXPECT_EQ(m.KvHeads(), 2);
  EXPECT_EQ(m.HeadDim(), 16);
  EXPECT_EQ(m.vocab, 320);
  EXPECT_DOUBLE_EQ(m.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(m.norm_eps, 1e-5);
}

// The status is bad input whose message holds every one of `parts`.
void ExpectBadInputSaying(const absl::Status& status, const std::vector<std::string>& parts) {
  EXPECT_TRUE(IsBadInput(status)) << status;
  for (const std::string& part : parts) EXPECT_NE(status.message().find(part), std::string::npos) << status;
}

TEST(Recipe, AFolderAnEmptyFileOrNoModelIsBadInputNamingTheFile) {
  const std::string empty = WriteTemp("empty.yaml", "# nothing but a comment\n");
  ExpectBadInputSaying(LoadRecipe(empty, {}).status(), {empty, "the recipe is empty"});
  const std::string folder = fs::path(empty).parent_path().string();
  ExpectBadInputSaying(LoadRecipe(folder, {}).status(), {folder, "is a folder"});
  const std::string no_model = WriteTemp("no_model.yaml", "train:\n  max_steps: 3\ndata:\n  source: demo\n");
  ExpectBadInputSaying(LoadRecipe(no_model, {}).status(), {no_model, "model: missing", "model.file"});
  // A model section without shapes: the first missing shape is named (heads = 0 once divided hidden by it).
  const std::string shapeless = WriteTemp("shapeless.yaml", "model:\n  name: x\ndata:\n  source: demo\n");
  ExpectBadInputSaying(LoadRecipe(shapeless, {"train.max_steps=3"}).status(), {"model.layers", "must be positive"});
  ExpectBadInputSaying(LoadRecipe(kNano, {"model.heads=0"}).status(), {"model.heads", "must be positive"});
}

TEST(Recipe, AKeyGivenTwiceIsBadInputNamingBothLines) {
  const std::string model = WriteTemp("dup_model.yaml", "model:\n  layers: 2\n  hidden: 64\n  layers: 3\n");
  const std::string uses_model = WriteTemp("uses_dup_model.yaml", "model:\n  file: dup_model.yaml\n");
  ExpectBadInputSaying(LoadRecipe(uses_model, {}).status(),
                       {model + ":4: model.layers: given twice in this file (lines 2 and 4)"});
  const std::string nested = WriteTemp("dup_nested.yaml", "model:\n  file: " + std::string(ZEN_SOURCE_DIR) +
                                                              "/configs/models/zen-nano.yaml\noptim:\n  lr: 1e-4\n"
                                                              "  warmup_steps: 3\n  lr: 1e-3\n");
  ExpectBadInputSaying(LoadRecipe(nested, {}).status(), {nested + ":6: optim.lr", "lines 4 and 6"});
  const std::string top = WriteTemp("dup_top.yaml", "output_dir: a\nmodel:\n  name: x\noutput_dir: b\n");
  ExpectBadInputSaying(LoadRecipe(top, {}).status(), {top + ":4: output_dir", "lines 1 and 4"});
}

TEST(Recipe, AKeyGivenTwiceInAnOverrideValueIsBadInputNamingIt) {
  const std::string twice = "optim={lr: 1.0e-3, warmup_steps: 3, lr: 2.0e-3}";
  ExpectBadInputSaying(LoadRecipe(kNano, {twice}).status(),
                       {"override '" + twice + "': optim.lr: given twice in the value; keep one of them"});
  const std::string nested = "model={vision: {layers: 1, layers: 2}}";
  ExpectBadInputSaying(LoadRecipe(kNano, {nested}).status(), {"model.vision.layers: given twice in the value"});
  EXPECT_TRUE(LoadRecipe(kNano, {"optim={lr: 1.0e-3, warmup_steps: 3}"}).ok());
}

TEST(ConfigTree, ErasingAKeyForgetsWhereItWasSet) {
  auto tree = ConfigTree::FromString("model:\n  layers: 2\n  vision:\n    layers: 1\n", "m.yaml");
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->OriginOf("model.vision.layers"), "m.yaml:4");
  tree->Erase("model.vision");
  // Where a deleted key was is no longer where it is set: its nearest remaining ancestor is.
  EXPECT_EQ(tree->OriginOf("model.vision.layers"), "m.yaml:1");
  EXPECT_EQ(tree->OriginOf("model.vision"), "m.yaml:1");
  EXPECT_EQ(tree->OriginOf("model.layers"), "m.yaml:2");
  tree->Erase("model");
  EXPECT_EQ(tree->OriginOf("model.layers"), "recipe");
}

TEST(Recipe, LayoutShapesAreCheckedWithoutAWorldSize) {
  auto loaded = LoadRecipe(kNano, {"model.heads=4", "model.kv_heads=4", "model.hidden=256", "parallel.tensor=3"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();  // a legal recipe: only the layout is wrong
  ExpectBadInputSaying(CheckLayoutShapes(loaded->recipe), {"parallel.tensor=3: model.heads (4) is not divisible by 3"});
  // The same check CheckLayout makes for a world of 3 ranks.
  ExpectBadInputSaying(CheckLayout(loaded->recipe, 3).status(), {"model.heads (4) is not divisible by 3"});
  auto deep = LoadRecipe(kNano, {"model.layers=2", "parallel.pipeline=4"});
  ASSERT_TRUE(deep.ok()) << deep.status();
  ExpectBadInputSaying(CheckLayoutShapes(deep->recipe), {"model.layers (2) is fewer than the pipeline stages"});
  auto dense_ep = LoadRecipe(kNano, {"parallel.expert=2"});
  ASSERT_TRUE(dense_ep.ok()) << dense_ep.status();
  ExpectBadInputSaying(CheckLayoutShapes(dense_ep->recipe), {"parallel.expert=2: the model has no experts"});
  auto fine = LoadRecipe(kNano, {"parallel.tensor=2"});
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_TRUE(CheckLayoutShapes(fine->recipe).ok()) << CheckLayoutShapes(fine->recipe);
}

TEST(RecipeWarnings, AShippedRecipeHasNone) {
  auto loaded = LoadRecipe(kNano, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(RecipeWarnings(loaded->recipe, loaded->tree, TotalSteps(loaded->recipe.train)).empty());
}

TEST(RecipeWarnings, AWarmupAsLongAsTheRunIsNamedWithItsLine) {
  auto loaded = LoadRecipe(kNano, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::vector<std::string> warnings = RecipeWarnings(loaded->recipe, loaded->tree, /*total_steps=*/30);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("zen-nano-lora.yaml:17: optim.warmup_steps: 100 warmup steps but the run has only 30"),
            std::string::npos) << warnings[0];
  EXPECT_TRUE(RecipeWarnings(loaded->recipe, loaded->tree, /*total_steps=*/101).empty());
}

TEST(RecipeWarnings, ALearningRateTenTimesBeyondTheUsualRangeIsNamed) {
  // LoRA: usual 1e-6..1e-3, warned outside 1e-7..1e-2; full training: usual 1e-7..1e-3, warned outside 1e-8..1e-2.
  const std::vector<std::tuple<std::vector<std::string>, bool>> cases = {
      {{"optim.lr=5e5"}, true},           {{"optim.lr=0.05"}, true},
      {{"optim.lr=5e-8"}, true},          {{"optim.lr=5e-7"}, false},  // the guide's Zen-Next lr
      {{"optim.lr=1e-2"}, false},         {{"~lora", "optim.lr=5e-8"}, false},
      {{"~lora", "optim.lr=3e-3"}, false}, {{"~lora", "optim.lr=5e-9"}, true},
      {{"~lora", "optim.lr=0.5"}, true},
  };
  for (const auto& [overrides, warned] : cases) {
    auto loaded = LoadRecipe(kNano, overrides);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const std::vector<std::string> warnings = RecipeWarnings(loaded->recipe, loaded->tree, 1000);
    EXPECT_EQ(warnings.size(), warned ? 1u : 0u) << overrides.back();
    if (warned && !warnings.empty()) {
      EXPECT_NE(warnings[0].find("override '" + overrides.back() + "': optim.lr:"), std::string::npos) << warnings[0];
      EXPECT_NE(warnings[0].find(loaded->recipe.lora.enabled ? "for LoRA" : "for full-parameter"), std::string::npos)
          << warnings[0];
    }
  }
}

TEST(RecipeWarnings, AHuggingFaceCheckpointInAnotherDtypeIsNamed) {
  const fs::path folder = fs::path(WriteTemp("placeholder", "")).parent_path() / "hf_bf16";
  fs::create_directories(folder);
  std::ofstream(folder / "config.json") << R"({"model_type": "qwen3", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 320,
    "max_position_embeddings": 512, "torch_dtype": "bfloat16"})";
  const std::vector<std::string> common = {"model.checkpoint=" + folder.string(), "train.seq_len=64"};
  auto fp32 = LoadRecipe(kNano, common);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  const std::vector<std::string> warnings = RecipeWarnings(fp32->recipe, fp32->tree, 1000);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("train.dtype: fp32 but model.checkpoint's " + (folder / "config.json").string() +
                             " stores bfloat16 weights"),
            std::string::npos) << warnings[0];
  std::vector<std::string> bf16 = common;
  bf16.push_back("train.dtype=bf16");
  auto matching = LoadRecipe(kNano, bf16);
  ASSERT_TRUE(matching.ok()) << matching.status();
  EXPECT_TRUE(RecipeWarnings(matching->recipe, matching->tree, 1000).empty());
}

TEST(DerivedNumbers, TotalStepsComeFromTheTokenBudgetCappedByMaxSteps) {
  TrainSpec t;
  t.global_batch_size = 64;
  t.seq_len = 2048;
  t.token_budget = 100e9;
  EXPECT_EQ(TokensPerStep(t), 131072);
  EXPECT_EQ(TotalSteps(t), 762940);  // ceil(1e11 / 131072)
  t.max_steps = 30;
  EXPECT_EQ(TotalSteps(t), 30);
  t.max_steps = 0;
  t.epochs = 3;
  EXPECT_EQ(TotalSteps(t, /*dataset_tokens=*/131072.0 * 10), 30);  // 3 epochs of 10 steps
}

}  // namespace
}  // namespace zen
