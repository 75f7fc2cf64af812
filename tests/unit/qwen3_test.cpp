// The Qwen3 decoder and the parallel layers it is built from, with one process (tp = 1).
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/status.h"
#include "models/qwen3.h"
#include "models/qwen3_blocks.h"
#include "parallel/layers.h"
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

using testing::Positions;
using testing::ShiftedLabels;
using testing::TinySpec;

std::set<std::string> ParameterNames(const torch::nn::Module& model) {
  std::set<std::string> names;
  for (const auto& p : model.named_parameters()) names.insert(p.key());
  return names;
}

TEST(Qwen3, ParameterNamesAreHuggingFaceNames) {
  torch::manual_seed(0);
  Qwen3 untied(TinySpec(/*tied=*/false));
  std::set<std::string> want = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"};
  for (const char* l : {"0", "1"}) {
    const std::string p = std::string("model.layers.") + l + ".";
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "self_attn.q_norm", "self_attn.k_norm", "mlp.gate_proj", "mlp.up_proj",
                          "mlp.down_proj", "input_layernorm", "post_attention_layernorm"}) {
      want.insert(p + n + ".weight");
    }
  }
  EXPECT_EQ(ParameterNames(*untied), want);

  Qwen3 tied(TinySpec(/*tied=*/true));
  want.erase("lm_head.weight");
  EXPECT_EQ(ParameterNames(*tied), want);
}

TEST(Qwen3, BlockCausalMaskKeepsEachTokenInsideItsDocument) {
  auto segments = torch::tensor({0, 0, 1, 1, 1}, torch::kLong).unsqueeze(0);
  auto mask = BlockCausalMask(segments);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{1, 1, 5, 5}));
  auto want = torch::tensor({1, 0, 0, 0, 0,  //
                             1, 1, 0, 0, 0,  //
                             0, 0, 1, 0, 0,  //
                             0, 0, 1, 1, 0,  //
                             0, 0, 1, 1, 1}, torch::kBool).view({1, 1, 5, 5});
  EXPECT_TRUE(torch::equal(mask, want));
}

// The point of block-causal attention: a packed row computes, for each document, exactly what the
// document alone would (positions restarting at 0), whatever sits beside it.
TEST(Qwen3, PackedDocumentsWithBlockCausalAttentionMatchEachDocumentAlone) {
  for (int64_t window : {0, 3}) {
    torch::manual_seed(3);
    ModelSpec spec = TinySpec(/*tied=*/false, /*kv_heads=*/2);
    spec.sliding_window = window;
    Qwen3 model(spec);
    auto first = torch::randint(64, {1, 5}, torch::kLong), second = torch::randint(64, {1, 4}, torch::kLong);
    auto packed = torch::cat({first, second}, 1);
    auto positions = torch::tensor({0, 1, 2, 3, 4, 0, 1, 2, 3}, torch::kLong).unsqueeze(0);
    auto segments = torch::tensor({0, 0, 0, 0, 0, 1, 1, 1, 1}, torch::kLong).unsqueeze(0);
    auto together = model->logits(model->forward(packed, positions, segments));
    auto alone_first = model->logits(model->forward(first, Positions(1, 5)));
    auto alone_second = model->logits(model->forward(second, Positions(1, 4)));
    EXPECT_TRUE(torch::allclose(together.slice(1, 0, 5), alone_first, 1e-5, 1e-6)) << "window " << window;
    EXPECT_TRUE(torch::allclose(together.slice(1, 5, 9), alone_second, 1e-5, 1e-6)) << "window " << window;
    // Without the segments the second document sees the first: its logits change.
    auto causal = model->logits(model->forward(packed, positions));
    EXPECT_FALSE(torch::allclose(causal.slice(1, 5, 9), alone_second, 1e-5, 1e-6)) << "window " << window;
  }
}

TEST(Qwen3, ParameterShapesFollowTheSpec) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec(/*tied=*/false, /*kv_heads=*/2));
  auto params = model->named_parameters();
  EXPECT_EQ(params["model.embed_tokens.weight"].sizes(), (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(params["model.layers.0.self_attn.q_proj.weight"].sizes(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(params["model.layers.0.self_attn.k_proj.weight"].sizes(), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(params["model.layers.0.self_attn.o_proj.weight"].sizes(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(params["model.layers.0.self_attn.q_norm.weight"].sizes(), (std::vector<int64_t>{8}));
  EXPECT_EQ(params["model.layers.1.mlp.down_proj.weight"].sizes(), (std::vector<int64_t>{32, 48}));
  EXPECT_EQ(params["lm_head.weight"].sizes(), (std::vector<int64_t>{64, 32}));
}

TEST(Qwen3, InitIsDeterministicFromTheGlobalSeed) {
  torch::manual_seed(7);
  Qwen3 a(TinySpec());
  torch::manual_seed(7);
  Qwen3 b(TinySpec());
  torch::manual_seed(8);
  Qwen3 c(TinySpec());
  auto pb = b->named_parameters(), pc = c->named_parameters();
  for (const auto& p : a->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    if (p.key().find("norm") == std::string::npos) {
      EXPECT_FALSE(torch::equal(p.value(), pc[p.key()])) << p.key();
      EXPECT_NEAR(p.value().std().item<double>(), 0.02, 0.01) << p.key();
    } else {
      EXPECT_TRUE(torch::equal(p.value(), torch::ones_like(p.value()))) << p.key();
    }
  }
}

TEST(Qwen3, ForwardShapesAndLogitsOverTheVocab) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto tokens = torch::randint(64, {3, 7}, torch::kLong);
  auto hidden = model->forward(tokens, Positions(3, 7));
  EXPECT_EQ(hidden.sizes(), (std::vector<int64_t>{3, 7, 32}));
  EXPECT_EQ(model->logits(hidden).sizes(), (std::vector<int64_t>{3, 7, 64}));
}

TEST(Qwen3, ChangingALaterTokenLeavesEarlierLogitsUnchanged) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto tokens = torch::randint(64, {2, 10}, torch::kLong);
  auto changed = tokens.clone();
  changed.index_put_({torch::indexing::Slice(), 6}, (tokens.select(1, 6) + 1) % 64);
  auto before = model->logits(model->forward(tokens, Positions(2, 10)));
  auto after = model->logits(model->forward(changed, Positions(2, 10)));
  EXPECT_TRUE(torch::allclose(before.slice(1, 0, 6), after.slice(1, 0, 6), 0, 0));
  EXPECT_FALSE(torch::allclose(before.slice(1, 6), after.slice(1, 6)));
}

TEST(Qwen3, SlidingWindowMaskSeesTheLastWindowKeys) {
  // Query i sees key j when i - 2 < j <= i (HF Qwen3's sliding_window_overlay on a causal mask).
  auto mask = SlidingWindowMask(5, 2, torch::kCPU);
  auto want = torch::tensor({1, 0, 0, 0, 0,  //
                             1, 1, 0, 0, 0,  //
                             0, 1, 1, 0, 0,  //
                             0, 0, 1, 1, 0,  //
                             0, 0, 0, 1, 1},
                            torch::kBool)
                  .view({5, 5});
  EXPECT_TRUE(torch::equal(mask, want));
}

TEST(Qwen3, SlidingWindowLayerIgnoresTokensOutsideTheWindow) {
  ModelSpec spec = TinySpec();
  spec.layers = 1;
  spec.sliding_window = 3;
  spec.sliding_layers = {0};
  torch::manual_seed(0);
  Qwen3 model(spec);
  auto tokens = torch::randint(64, {1, 8}, torch::kLong);
  auto changed = tokens.clone();
  changed.index_put_({0, 0}, (tokens.index({0, 0}) + 1) % 64);
  auto before = model->logits(model->forward(tokens, Positions(1, 8)));
  auto after = model->logits(model->forward(changed, Positions(1, 8)));
  // Token 0 reaches positions 0..2 only.
  EXPECT_FALSE(torch::allclose(before.slice(1, 0, 3), after.slice(1, 0, 3)));
  EXPECT_TRUE(torch::allclose(before.slice(1, 3), after.slice(1, 3), 0, 0));
}

TEST(Qwen3, LossSumIsTheSumOfTokenCrossEntropies) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec(/*tied=*/false));
  auto tokens = torch::randint(64, {2, 9}, torch::kLong);
  auto labels = ShiftedLabels(tokens);
  labels.index_put_({0, 2}, kIgnoreLabel);
  auto hidden = model->forward(tokens, Positions(2, 9));
  auto loss = model->loss_sum(hidden, labels);
  auto want = torch::nn::functional::cross_entropy(
      model->logits(hidden).reshape({-1, 64}), labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum));
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item<double>(), want.item<double>(), 1e-4 * want.item<double>());
}

TEST(Qwen3, BackwardReachesEveryParameter) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec(/*tied=*/false));
  auto tokens = torch::randint(64, {2, 6}, torch::kLong);
  model->loss_sum(model->forward(tokens, Positions(2, 6)), ShiftedLabels(tokens)).backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
}

TEST(Qwen3, StageHoldsItsLayersUnderGlobalNamesWithTheWholeModelsValues) {
  torch::manual_seed(3);
  Qwen3 whole(TinySpec(/*tied=*/false));
  torch::manual_seed(3);
  Qwen3 last(TinySpec(/*tied=*/false), TpGroup{},
             StageRange{1, 2, /*has_embedding=*/false, /*has_head=*/true});
  auto all = whole->named_parameters();
  for (const auto& p : last->named_parameters()) {
    EXPECT_TRUE(p.key().rfind("model.layers.0.", 0) != 0) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), all[p.key()])) << p.key();
  }
  EXPECT_EQ(last->named_parameters().find("model.embed_tokens.weight"), nullptr);
  EXPECT_NE(last->named_parameters().find("model.layers.1.mlp.up_proj.weight"), nullptr);
}

TEST(Qwen3, PipelineStagesComposeToTheWholeModel) {
  for (bool tied : {false, true}) {
    torch::manual_seed(5);
    Qwen3 whole(TinySpec(tied));
    torch::manual_seed(5);
    Qwen3 first(TinySpec(tied), TpGroup{}, StageRange{0, 1, true, false});
    torch::manual_seed(5);
    Qwen3 second(TinySpec(tied), TpGroup{}, StageRange{1, 2, false, true});
    auto tokens = torch::randint(64, {2, 5}, torch::kLong);
    auto positions = Positions(2, 5);
    auto want = whole->logits(whole->forward(tokens, positions));
    auto got = second->logits(second->forward_hidden(first->forward(tokens, positions), positions));
    EXPECT_TRUE(torch::allclose(got, want, 0, 0)) << "tied=" << tied;
  }
}

TEST(Qwen3, TensorParallelRanksHoldSlicesOfTheWholeModel) {
  torch::manual_seed(4);
  Qwen3 whole(TinySpec(/*tied=*/false));
  std::vector<Qwen3> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    torch::manual_seed(4);
    ranks.push_back(Qwen3(TinySpec(/*tied=*/false), TpGroup{nullptr, r, 2}));
  }
  const auto dims = TpSplitDims(*whole);
  auto p0 = ranks[0]->named_parameters(), p1 = ranks[1]->named_parameters();
  int64_t held = 0, total = 0;
  for (const auto& p : whole->named_parameters()) {
    const int64_t dim = dims.at(p.key());
    auto joined = dim < 0 ? p0[p.key()] : torch::cat({p0[p.key()], p1[p.key()]}, dim);
    EXPECT_TRUE(torch::equal(joined, p.value())) << p.key();
    if (dim < 0) EXPECT_TRUE(torch::equal(p1[p.key()], p.value())) << p.key();
    held += p0[p.key()].numel();
    total += p.value().numel();
  }
  // Everything but the norms is split in two.
  EXPECT_LT(held, total * 0.51);
}

TEST(Qwen3, ImpossibleMixtureOfExpertsSpecIsRejectedNamingTheKey) {
  ModelSpec spec = TinySpec();
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  EXPECT_TRUE(CheckSupported(spec).ok());
  spec.top_k = 5;
  const absl::Status too_many = CheckSupported(spec);
  EXPECT_TRUE(IsBadInput(too_many));
  EXPECT_NE(std::string(too_many.message()).find("model.top_k"), std::string::npos) << too_many;
  EXPECT_THROW({ Qwen3 model(spec); }, c10::Error);
  spec.top_k = 2;
  spec.expert_ffn = 0;
  EXPECT_NE(std::string(CheckSupported(spec).message()).find("model.expert_ffn"), std::string::npos);
}

TEST(Qwen3Layers, VocabParallelCrossEntropyMatchesTorchWithIgnoredLabels) {
  torch::manual_seed(0);
  auto logits = torch::randn({6, 11}) * 3;
  auto labels = torch::tensor({int64_t{3}, kIgnoreLabel, int64_t{0}, int64_t{10}, kIgnoreLabel, int64_t{7}});
  auto got = VocabParallelCrossEntropySum(logits, labels, TpGroup{});
  auto want = torch::nn::functional::cross_entropy(
      logits, labels,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum));
  EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-5);
}

TEST(Qwen3Layers, SingleRankLayersArePlainLayers) {
  torch::manual_seed(0);
  ColumnParallelLinear column(8, 6, TpGroup{});
  RowParallelLinear row(6, 4, TpGroup{});
  VocabParallelEmbedding embedding(10, 8, TpGroup{});
  auto x = torch::randn({2, 3, 8});
  auto h = column(x);
  EXPECT_TRUE(torch::allclose(h, torch::matmul(x, column->weight.t())));
  EXPECT_TRUE(torch::allclose(row(h), torch::matmul(h, row->weight.t())));
  auto tokens = torch::tensor({{1, 9}}, torch::kLong);
  EXPECT_TRUE(torch::equal(embedding(tokens)[0][1], embedding->weight[9]));
}

TEST(Qwen3Layers, SplitDimsNameWhatEachLayerShards) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec(/*tied=*/false));
  const auto dims = TpSplitDims(*model);
  EXPECT_EQ(dims.at("model.embed_tokens.weight"), 0);
  EXPECT_EQ(dims.at("model.layers.0.self_attn.q_proj.weight"), 0);
  EXPECT_EQ(dims.at("model.layers.0.self_attn.o_proj.weight"), 1);
  EXPECT_EQ(dims.at("model.layers.0.mlp.down_proj.weight"), 1);
  EXPECT_EQ(dims.at("model.layers.0.self_attn.q_norm.weight"), -1);
  EXPECT_EQ(dims.at("lm_head.weight"), 0);
}

}  // namespace
}  // namespace zen
