// Analytic parameter counts against instantiated models and against transformers' own count.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/lora.h"
#include "models/param_count.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

using testing::TinyLora;
using testing::TinySpec;

int64_t Instantiated(const ModelSpec& spec) {
  torch::manual_seed(0);
  Qwen3 model(spec);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

struct CountCase {
  bool tied;
  int64_t kv_heads;
};

class ParamCountModels : public ::testing::TestWithParam<CountCase> {};

TEST_P(ParamCountModels, TotalEqualsTheInstantiatedModel) {
  const ModelSpec spec = TinySpec(GetParam().tied, GetParam().kv_heads);
  const ParamCounts counts = CountParams(spec);
  EXPECT_EQ(counts.total, static_cast<double>(Instantiated(spec)));
  EXPECT_EQ(counts.active, counts.total);
  EXPECT_EQ(counts.embedding, 64.0 * 32.0);
}

INSTANTIATE_TEST_SUITE_P(ParamCount, ParamCountModels,
                         ::testing::Values(CountCase{true, 4}, CountCase{false, 4}, CountCase{true, 2},
                                           CountCase{false, 1}),
                         [](const auto& info) {
                           return std::string(info.param.tied ? "Tied" : "Untied") + "Kv" +
                                  std::to_string(info.param.kv_heads);
                         });

TEST(ParamCount, LoraCountEqualsApplyLorasTrainableCount) {
  const std::vector<std::vector<std::string>> target_sets = {
      {"q", "v", "o", "gate", "up", "down"}, {"q", "k", "v", "o"}, {"down_proj"}, {"q", "q_proj", "up"}};
  for (bool tied : {true, false}) {
    for (const auto& targets : target_sets) {
      const ModelSpec spec = TinySpec(tied, /*kv_heads=*/1);
      const LoraSpec lora = TinyLora(targets, /*rank=*/3);
      torch::manual_seed(0);
      Qwen3 model(spec);
      auto trainable = ApplyLora(*model, lora);
      ASSERT_TRUE(trainable.ok()) << trainable.status();
      EXPECT_EQ(CountLoraParams(spec, lora), static_cast<double>(*trainable)) << targets.size();
    }
  }
}

TEST(ParamCount, Qwen3SmallMatchesTransformers) {
  // Qwen3-0.6B's config; transformers' Qwen3ForCausalLM(...).num_parameters() says these.
  ModelSpec spec;
  spec.layers = 28;
  spec.hidden = 1024;
  spec.heads = 16;
  spec.kv_heads = 8;
  spec.head_dim = 128;
  spec.ffn = 3072;
  spec.vocab = 151936;
  spec.tie_embeddings = true;
  EXPECT_EQ(CountParams(spec).total, 596049920.0);
  spec.tie_embeddings = false;
  EXPECT_EQ(CountParams(spec).total, 751632384.0);
}

TEST(ParamCount, MoeLayersCountEveryExpertButActivateTopK) {
  ModelSpec spec = TinySpec(/*tied=*/true, /*kv_heads=*/4);  // hidden 32, 4 heads of 8
  spec.experts = 8;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  spec.shared_ffn = 24;
  spec.moe_every = 2;                                       // layer 1 is MoE, layer 0 dense
  const double attention = 4 * 32.0 * 32 + 2 * 8 + 2 * 32;  // q k v o, q/k norms, two layer norms
  const double dense_mlp = 3 * 32.0 * 48;
  const double router = 32.0 * 8, expert = 3 * 32.0 * 16, shared = 3 * 32.0 * 24;
  const double outside = 64.0 * 32 + 32;  // tied embedding + final norm
  const ParamCounts counts = CountParams(spec);
  EXPECT_EQ(counts.total, outside + 2 * attention + dense_mlp + router + 8 * expert + shared);
  EXPECT_EQ(counts.active, outside + 2 * attention + dense_mlp + router + 2 * expert + shared);
}

TEST(ParamCount, MoeLoraTargetsCountExpertsRouterAndShared) {
  ModelSpec spec = TinySpec(/*tied=*/true, /*kv_heads=*/4);
  spec.experts = 8;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  spec.shared_ffn = 24;
  spec.moe_every = 1;  // both layers MoE
  const double r = 2;
  auto count = [&](std::vector<std::string> targets) { return CountLoraParams(spec, TinyLora(targets, 2)); };
  EXPECT_EQ(count({"router"}), 2 * r * (32 + 8));
  EXPECT_EQ(count({"experts.*.wi"}), 2 * 8 * 2 * r * (32 + 16));
  EXPECT_EQ(count({"wo"}), 2 * 8 * r * (16 + 32));
  EXPECT_EQ(count({"experts.*.wo"}), count({"wo"}));
  EXPECT_EQ(count({"experts.*.mlp"}), count({"experts.*.wi", "wo"}));
  EXPECT_EQ(count({"shared"}), 2 * 3 * r * (32 + 24));
  EXPECT_EQ(count({"gate", "up", "down"}), 0);  // no dense MLP on MoE layers
  EXPECT_EQ(count({"q"}), 2 * r * (32 + 32));
}

TEST(ParamCount, HandlesAFourHundredBillionParameterSpec) {
  ModelSpec spec;  // Zen-Coder's shapes from the reference guide
  spec.layers = 80;
  spec.hidden = 8192;
  spec.heads = 64;
  spec.kv_heads = 8;
  spec.ffn = 28672;
  spec.vocab = 161000;
  spec.experts = 64;
  spec.top_k = 8;
  spec.expert_ffn = 28672;
  spec.shared_ffn = 4096;
  const ParamCounts counts = CountParams(spec);
  EXPECT_GT(counts.total, 4e11);
  EXPECT_LT(counts.active, counts.total / 4);
  EXPECT_EQ(counts.embedding, 161000.0 * 8192);
  EXPECT_GT(CountLoraParams(spec, TinyLora({"router", "experts.*.wi", "wo"}, 32)), 0);
}

}  // namespace
}  // namespace zen
