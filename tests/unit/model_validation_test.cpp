// One model validation: the recipe's checks and the model's (CheckSupported, MakeQwen3) are the same code
// with the same words, and a spec the decoder cannot build is bad input (a status), not an exception.
#include <string>

#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "model_test_util.h"
#include "models/qwen3.h"

namespace zen {
namespace {

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

ModelSpec TinyMoe(int64_t top_k) {
  ModelSpec spec = testing::TinySpec();
  spec.experts = 4;
  spec.top_k = top_k;
  spec.expert_ffn = 16;
  return spec;
}

TEST(ModelValidation, MakeQwen3BuildsASupportedSpecAndRefusesAnotherAsBadInputNamingTheKey) {
  absl::StatusOr<Qwen3> built = MakeQwen3(TinyMoe(2), ModelGroups{}, StageRange::Whole(TinyMoe(2)), MoeSpec{});
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_GT((*built)->parameters().size(), 0u);
  const ModelSpec bad = TinyMoe(5);
  absl::StatusOr<Qwen3> refused = MakeQwen3(bad, ModelGroups{}, StageRange::Whole(bad), MoeSpec{});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsBadInput(refused.status())) << refused.status();
  EXPECT_EQ(refused.status().message(), "model.top_k: must be between 1 and model.experts (4), got 5");
}

TEST(ModelValidation, TheRecipeAndTheModelSayTheSameThingAboutOneSpec) {
  const std::vector<std::pair<std::string, ModelSpec>> cases = [] {
    ModelSpec odd_head = testing::TinySpec();
    odd_head.head_dim = 7;
    ModelSpec kv = testing::TinySpec();
    kv.kv_heads = 3;
    return std::vector<std::pair<std::string, ModelSpec>>{
        {"model.top_k=5", TinyMoe(5)}, {"model.head_dim=7", odd_head}, {"model.kv_heads=3", kv}};
  }();
  for (const auto& [override_text, spec] : cases) {
    const absl::Status model = CheckSupported(spec);
    ASSERT_TRUE(IsBadInput(model)) << override_text << ": " << model;
    // The same spec as a recipe: zen-nano-lora with the tiny shape and one key changed.
    std::vector<std::string> overrides = {
        "model.layers=2", "model.hidden=32", "model.heads=4", "model.kv_heads=2", "model.head_dim=8",
        "model.ffn=48", "model.vocab=64", "model.max_position=128"};
    if (spec.IsMoe()) overrides.insert(overrides.end(), {"model.experts=4", "model.expert_ffn=16"});
    overrides.push_back(override_text);
    const absl::Status recipe = LoadRecipe(kNano, overrides).status();
    ASSERT_TRUE(IsBadInput(recipe)) << override_text << ": " << recipe;
    // "override 'model.top_k=5': model.top_k: must be ..." ends with the model's own message.
    const std::string text(recipe.message()), tail(model.message());
    ASSERT_GE(text.size(), tail.size()) << text;
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail) << override_text;
    EXPECT_EQ(text, absl::StrCat("override '", override_text, "': ", tail));
  }
}

}  // namespace
}  // namespace zen
