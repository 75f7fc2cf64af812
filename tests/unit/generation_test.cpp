// Generation: the KV cache gives exactly what recomputing the prefix gives (dense with GQA, a sliding
// window and LoRA adapters; MoE), sampling is reproducible from its seed, and greedy generation from a
// tiny random Qwen3 / Qwen3-MoE that transformers builds, loaded the way `zen generate` loads a recipe's
// model.checkpoint, writes the same 32 ids as transformers' generate.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"  // defines: ReadSafetensors
#include "core/recipe_loader.h"       // defines: LoadRecipe
#include "models/generation.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText
#include "trainer/recipe_model.h"          // defines: LoadRecipeModel

namespace zen {
namespace {

using testing::MaxRelativeError;
using testing::Positions;
using testing::ScratchDir;
using testing::TinyLora;
using testing::TinySpec;

// Weights large enough that the next token is decided by a clear margin, never by rounding.
void Sharpen(Qwen3& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (p.dim() >= 2) p.normal_(0.0, 0.3);
  }
}

// Tiny dense: 4 query heads on 2 KV heads, layer 1 on a window of 4; LoRA on every dense linear, B != 0.
Qwen3 TinyDense(int64_t max_position = 128) {
  ModelSpec spec = TinySpec(/*tied=*/false);
  spec.max_position = max_position;
  spec.sliding_window = 4;
  spec.sliding_layers = {1};
  torch::manual_seed(11);
  Qwen3 model(spec);
  EXPECT_TRUE(ApplyLora(*model, TinyLora({"q", "k", "v", "o", "gate", "up", "down"})).ok());
  Sharpen(model);
  return model;
}

// Tiny MoE: 4 experts, top 2, every layer.
Qwen3 TinyMoe() {
  ModelSpec spec = TinySpec();
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  torch::manual_seed(12);
  Qwen3 model(spec, TpGroup{}, StageRange::Whole(spec), MoeSpec{});
  Sharpen(model);
  return model;
}

const std::vector<int64_t> kPrompt = {3, 14, 15, 9, 26, 5, 35};

TEST(Generation, CachedLogitsEqualTheFullForwardAtEveryStep) {
  for (Qwen3 model : {TinyDense(), TinyMoe()}) {
    torch::NoGradGuard no_grad;
    model->eval();
    auto tokens = torch::randint(0, model->spec().vocab, {2, 13}, torch::kLong);
    auto full = model->logits(model->forward(tokens, Positions(2, 13)));  // (2, 13, V)
    // A prefill of 6, single tokens, then chunks of 2 (which mask each other and the window).
    KvCache cache;
    std::vector<torch::Tensor> pieces;
    int64_t begin = 0;
    for (int64_t length : {6, 1, 1, 1, 2, 2}) {
      pieces.push_back(model->forward_cached(tokens.slice(1, begin, begin + length), cache));
      begin += length;
    }
    EXPECT_EQ(cache.length, 13);
    EXPECT_LE(MaxRelativeError(torch::cat(pieces, 1), full), 1e-5);
  }
}

TEST(Generation, CachedEqualsRecomputingThePrefixTokenForToken) {
  for (Qwen3 model : {TinyDense(), TinyMoe()}) {
    for (double temperature : {0.0, 0.8}) {
      GenerateOptions options;
      options.max_new_tokens = 24;
      options.temperature = temperature;
      options.top_k = 20;
      options.top_p = 0.9;
      options.seed = 5;
      const auto cached = Generate(model, kPrompt, options);
      options.use_cache = false;
      const auto recomputed = Generate(model, kPrompt, options);
      EXPECT_EQ(cached.size(), 24u);
      EXPECT_EQ(cached, recomputed) << "temperature " << temperature;
    }
  }
}

TEST(Generation, SamplingIsReproducibleFromItsSeed) {
  Qwen3 model = TinyDense();
  GenerateOptions options;
  options.max_new_tokens = 24;
  options.temperature = 1.5;
  options.seed = 42;
  const auto first = Generate(model, kPrompt, options);
  EXPECT_EQ(Generate(model, kPrompt, options), first);
  options.seed = 43;
  EXPECT_NE(Generate(model, kPrompt, options), first);
  // Top-k 1 leaves only the argmax: sampling is then greedy.
  options.top_k = 1;
  GenerateOptions greedy;
  greedy.max_new_tokens = 24;
  EXPECT_EQ(Generate(model, kPrompt, options), Generate(model, kPrompt, greedy));
}

TEST(Generation, StopsAfterAStopIdAndAtMaxPosition) {
  Qwen3 model = TinyDense();
  GenerateOptions options;
  options.max_new_tokens = 24;
  const auto all = Generate(model, kPrompt, options);
  options.stop_ids = {all[5]};
  const auto stopped = Generate(model, kPrompt, options);
  EXPECT_EQ(stopped.back(), all[5]);
  EXPECT_LE(stopped.size(), 6u);
  options.stop_ids.clear();
  std::vector<int64_t> streamed;
  Qwen3 capped = TinyDense(/*max_position=*/10);
  EXPECT_EQ(Generate(capped, kPrompt, options, [&](int64_t id) { streamed.push_back(id); }).size(), 3u);
  EXPECT_EQ(streamed.size(), 3u);
}

struct OracleCase {
  std::string name;
  std::string script;               // under tests/oracle/
  std::vector<std::string> args;    // for the script, after OUT_DIR
  std::vector<std::string> overrides;
};

class GenerationOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(GenerationOracle, GreedyIdsEqualTransformersGenerate) {
  const OracleCase& c = GetParam();
  ScratchDir dir("generation_oracle_" + c.name);
  const std::string oracle = std::string(ZEN_SOURCE_DIR) + "/tests/oracle/";
  std::vector<std::string> args = c.args;
  args.insert(args.begin(), dir.path());
  const auto made = testing::RunPython(dir.path(), testing::ReadText(oracle + c.script), args);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const auto generated = testing::RunPython(dir.path(), testing::ReadText(oracle + "generate_greedy.py"),
                                            {dir / "model", dir / "generated.safetensors", "32"});
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  std::vector<std::string> overrides = {"train.seq_len=64", "model.checkpoint=" + dir / "model",
                                        "output_dir=" + dir / "run"};
  overrides.insert(overrides.end(), c.overrides.begin(), c.overrides.end());
  auto recipe = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml", overrides);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  auto loaded = LoadRecipeModel(recipe->recipe);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto fixture = ReadSafetensors(dir / "generated.safetensors");
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  const torch::Tensor prompt = fixture->at("prompt"), want = fixture->at("new_ids");
  GenerateOptions options;
  options.max_new_tokens = 32;
  const std::vector<int64_t> got =
      Generate(loaded->model, std::vector<int64_t>(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + prompt.numel()), options);
  EXPECT_EQ(got, std::vector<int64_t>(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel()));
}

INSTANTIATE_TEST_SUITE_P(
    Qwen3, GenerationOracle,
    ::testing::Values(OracleCase{"DenseGqa", "make_tiny_qwen3.py", {"--kv-heads", "2", "--tie", "1"}, {}},
                      OracleCase{"DenseSlidingWindow", "make_tiny_qwen3.py",
                                 {"--kv-heads", "2", "--sliding-window", "4", "--max-window-layers", "1"}, {}},
                      OracleCase{"Moe", "make_tiny_qwen3_moe.py", {}, {"~lora"}},
                      // Gated DeltaNet layers carry a recurrent state (conv window + S) beside the KV cache.
                      OracleCase{"Qwen3Next", "make_tiny_qwen3_next.py",
                                 {"--oracle-dir", std::string(ZEN_SOURCE_DIR) + "/tests/oracle"}, {"~lora"}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace zen
