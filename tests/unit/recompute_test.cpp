// Activation recomputation (parallel/recompute.h, parallel/layer_runner.h) and the chunked cross entropy
// (parallel/chunked_cross_entropy.h) against the plain path on one process: the same loss and gradients
// (rel 1e-6) with LoRA dropout drawing masks, under bf16 autocast, with MoE routing statistics counted once
// and the aux loss's gradient entering once. (Equal losses under tp, pp and ep, and the measured memory:
// tests/cli/recompute_equal_losses.sh.)
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "models/lora.h"
#include "models/qwen3.h"
#include "parallel/chunked_cross_entropy.h"
#include "parallel/layer_runner.h"
#include "parallel/layers.h"
#include "parallel/recompute.h"
#include "tests/unit/model_test_util.h"
#include "trainer/precision.h"

namespace zen {
namespace {

using testing::MaxRelativeError;

constexpr double kTolerance = 1e-6;

struct StepResult {
  double loss = 0;
  std::map<std::string, torch::Tensor> grads;
  double next_draw = 0;  // torch's global generator after the step: recomputation must leave it as none does
  torch::Tensor expert_counts, aux_sum;
};

LayerRunner Runner(RecomputeMode mode, int64_t layers = 0) { return LayerRunner(RecomputePolicy{mode, layers}); }

// Every parameter moved off its initial value (norms off 1, LoRA's B off 0), so each gradient is informative.
void Perturb(Qwen3& model) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);
}

// One forward and backward of the mean next-token loss on a fixed batch, with the global generator seeded
// (LoRA dropout draws from it) and, when bf16, the forward under autocast as the trainer runs it.
StepResult Step(Qwen3& model, const LayerRunner& runner, bool bf16 = false) {
  model->set_layer_runner(runner);
  model->zero_grad();
  if (model->moe_stats() != nullptr) model->moe_stats()->Reset(model->spec().experts);
  torch::manual_seed(11);
  auto tokens = torch::randint(model->spec().vocab, {2, 12}, torch::kLong);
  torch::manual_seed(3);
  torch::Tensor loss;
  {
    AutocastScope autocast(bf16, torch::kCPU);
    loss = model->loss_sum(model->forward(tokens, testing::Positions(2, 12)), testing::ShiftedLabels(tokens)) / 22.0;
  }
  loss.backward();
  StepResult r;
  r.loss = loss.item<double>();
  for (const auto& item : model->named_parameters()) {
    if (item.value().grad().defined()) r.grads[item.key()] = item.value().grad().clone();
  }
  r.next_draw = torch::rand({}).item<double>();
  if (model->moe_stats() != nullptr) {
    r.expert_counts = model->moe_stats()->expert_counts.clone();
    r.aux_sum = model->moe_stats()->aux_sum.clone();
  }
  return r;
}

void ExpectSameStep(const StepResult& got, const StepResult& want, const std::string& what) {
  EXPECT_NEAR(got.loss, want.loss, kTolerance * std::abs(want.loss)) << what;
  EXPECT_EQ(got.next_draw, want.next_draw) << what << ": the caller's generator state was not put back";
  ASSERT_EQ(got.grads.size(), want.grads.size()) << what;
  for (const auto& [name, grad] : want.grads) {
    ASSERT_TRUE(got.grads.count(name)) << what << ": no gradient for " << name;
    EXPECT_LE(MaxRelativeError(got.grads.at(name), grad), kTolerance) << what << ": " << name;
  }
}

Qwen3 LoraModelWithDropout(const ModelSpec& spec) {
  torch::manual_seed(1);
  Qwen3 model(spec);
  LoraSpec lora = testing::TinyLora({"q", "k", "v", "o", "gate", "up", "down"});
  lora.dropout = 0.3;
  EXPECT_TRUE(ApplyLora(*model, lora).ok());
  Perturb(model);
  return model;
}

TEST(Recompute, FullAndSelectiveGiveTheSameLossGradientsAndLaterDrawsWithLoraDropout) {
  Qwen3 model = LoraModelWithDropout(testing::TinySpec());
  const StepResult none = Step(model, Runner(RecomputeMode::kNone));
  ASSERT_EQ(none.grads.size(), 2u * 14u);  // LoRA A and B on 7 linears of 2 layers: the base is frozen
  ExpectSameStep(Step(model, Runner(RecomputeMode::kFull)), none, "full");
  ExpectSameStep(Step(model, Runner(RecomputeMode::kFull, /*layers=*/1)), none, "full, first layer only");
  ExpectSameStep(Step(model, Runner(RecomputeMode::kSelective)), none, "selective");
  // The dropout masks matter: without the forward's RNG state the re-run would draw others, and these differ.
  model->set_layer_runner(Runner(RecomputeMode::kNone));
  model->zero_grad();
  torch::manual_seed(11);
  auto tokens = torch::randint(model->spec().vocab, {2, 12}, torch::kLong);
  torch::manual_seed(4);  // another mask
  (model->loss_sum(model->forward(tokens, testing::Positions(2, 12)), testing::ShiftedLabels(tokens)) / 22.0)
      .backward();
  const auto& a = model->named_parameters()["model.layers.0.self_attn.q_proj.lora_A"];
  EXPECT_GT(MaxRelativeError(a.grad(), none.grads.at("model.layers.0.self_attn.q_proj.lora_A")), 1e-3);
}

TEST(Recompute, FullFineTuningReachesEveryParameterOnce) {
  torch::manual_seed(1);
  Qwen3 model(testing::TinySpec(/*tied=*/false));
  Perturb(model);
  const StepResult none = Step(model, Runner(RecomputeMode::kNone));
  ASSERT_EQ(none.grads.size(), model->parameters().size());
  ExpectSameStep(Step(model, Runner(RecomputeMode::kFull)), none, "full");
  ExpectSameStep(Step(model, Runner(RecomputeMode::kSelective)), none, "selective");
}

TEST(Recompute, TheRerunUsesTheForwardsAutocast) {
  Qwen3 model = LoraModelWithDropout(testing::TinySpec());
  const StepResult none = Step(model, Runner(RecomputeMode::kNone), /*bf16=*/true);
  ExpectSameStep(Step(model, Runner(RecomputeMode::kFull), /*bf16=*/true), none, "full under bf16");
  ExpectSameStep(Step(model, Runner(RecomputeMode::kSelective), /*bf16=*/true), none, "selective under bf16");
  // fp32 gives other gradients at bf16's resolution: a re-run outside autocast would be caught.
  const StepResult fp32 = Step(model, Runner(RecomputeMode::kNone));
  EXPECT_GT(MaxRelativeError(fp32.grads.at("model.layers.0.mlp.down_proj.lora_B"),
                             none.grads.at("model.layers.0.mlp.down_proj.lora_B")),
            1e-4);
}

TEST(Recompute, MoeStatisticsAreCountedOnceAndTheAuxGradientEntersOnce) {
  ModelSpec spec = testing::TinySpec();
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  spec.shared_ffn = 16;
  MoeSpec moe;
  moe.aux_loss_coef = 0.5;  // large, so a doubled aux gradient would show in the router's gradient
  moe.z_loss_coef = 0.1;
  moe.capacity_factor = 1.0;
  torch::manual_seed(1);
  Qwen3 model(spec, TpGroup{}, StageRange::Whole(spec), moe);
  Perturb(model);
  const StepResult none = Step(model, Runner(RecomputeMode::kNone));
  ASSERT_GT(none.expert_counts.sum().item<int64_t>(), 0);
  for (RecomputeMode mode : {RecomputeMode::kFull, RecomputeMode::kSelective}) {
    const StepResult got = Step(model, Runner(mode));
    const std::string what = mode == RecomputeMode::kFull ? "full" : "selective";
    ExpectSameStep(got, none, what);
    EXPECT_TRUE(got.expert_counts.equal(none.expert_counts)) << what << ": " << got.expert_counts;
    EXPECT_NEAR(got.aux_sum.item<double>(), none.aux_sum.item<double>(), 1e-12) << what;
  }
  // Without its aux term the router's gradient differs: the comparison above sees the aux gradient.
  moe.aux_loss_coef = 0;
  moe.z_loss_coef = 0;
  torch::manual_seed(1);
  Qwen3 plain(spec, TpGroup{}, StageRange::Whole(spec), moe);
  Perturb(plain);
  const StepResult without_aux = Step(plain, Runner(RecomputeMode::kNone));
  EXPECT_GT(MaxRelativeError(without_aux.grads.at("model.layers.0.mlp.gate.weight"),
                             none.grads.at("model.layers.0.mlp.gate.weight")),
            1e-3);
}

TEST(Recompute, AFrozenInputStillSendsGradientsToTheParameters) {
  auto w = torch::randn({3, 3}, torch::requires_grad());
  auto x = torch::randn({2, 3});  // a frozen embedding's output: no grad
  auto fn = [w](const std::vector<torch::Tensor>& in) { return torch::tanh(torch::matmul(in[0], w)).sum(); };
  Checkpoint(fn, {x}, {w}).backward();
  const torch::Tensor got = w.grad().clone();
  w.mutable_grad().zero_();
  fn({x}).backward();
  EXPECT_LE(MaxRelativeError(got, w.grad()), kTolerance);
  EXPECT_GT(got.abs().sum().item<double>(), 0);
}

// The chunked cross entropy against the whole sum: loss, and gradients of the hidden states and the head.
void ExpectChunkedEqualsWhole(bool tied) {
  torch::manual_seed(1);
  Qwen3 model(testing::TinySpec(tied));
  Perturb(model);
  auto hidden = torch::randn({3, 10, model->spec().hidden});
  auto labels = torch::randint(model->spec().vocab, {3, 10}, torch::kLong);
  labels.index_put_({0, torch::indexing::Slice(0, 4)}, kIgnoreLabel);
  const std::string head = tied ? "model.embed_tokens.weight" : "lm_head.weight";
  std::map<int64_t, std::pair<torch::Tensor, torch::Tensor>> grads;  // chunk -> (hidden, head)
  std::map<int64_t, double> losses;
  for (int64_t chunk : {1000, 7, 1}) {
    model->set_loss_chunk_tokens(chunk);
    model->zero_grad();
    auto h = hidden.clone().requires_grad_();
    auto loss = model->loss_sum(h, labels);
    loss.backward();
    losses[chunk] = loss.item<double>();
    grads[chunk] = {h.grad(), model->named_parameters()[head].grad().clone()};
  }
  for (int64_t chunk : {7, 1}) {
    EXPECT_NEAR(losses[chunk], losses[1000], kTolerance * losses[1000]) << "chunk " << chunk;
    EXPECT_LE(MaxRelativeError(grads[chunk].first, grads[1000].first), kTolerance) << "hidden, chunk " << chunk;
    EXPECT_LE(MaxRelativeError(grads[chunk].second, grads[1000].second), kTolerance) << head << ", chunk " << chunk;
  }
  // The whole sum itself is the plain cross entropy over the logits.
  auto z = model->logits(hidden).reshape({-1, model->spec().vocab});
  const double want = torch::nn::functional::cross_entropy(
                          z, labels.reshape({-1}),
                          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum))
                          .item<double>();
  EXPECT_NEAR(losses[1000], want, 1e-5 * want);
}

TEST(ChunkedCrossEntropy, EqualsTheWholeSumWithATiedHead) { ExpectChunkedEqualsWhole(/*tied=*/true); }
TEST(ChunkedCrossEntropy, EqualsTheWholeSumWithAnUntiedHead) { ExpectChunkedEqualsWhole(/*tied=*/false); }

}  // namespace
}  // namespace zen
