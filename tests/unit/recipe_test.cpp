// The recipe system: file + model file + overrides, the strict schema, and messages that name the key.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/derived.h"
#include "core/recipe_loader.h"

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
  const std::string config = WriteTemp("config.json", R"({"num_hidden_layers": 3, "hidden_size": 96,
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
