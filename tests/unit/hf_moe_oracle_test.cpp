// The oracle for mixtures of experts: a tiny random Qwen3MoeForCausalLM built by transformers (router
// softmax, renormalised top-2 of 4 experts, every layer or every second layer MoE), saved in the Hub's
// per-expert layout and loaded into zen, must give the same logits and loss; and transformers'
// load_balancing_loss_func, which divides by tokens rather than token choices, must be top_k times ours.
#include <gtest/gtest.h>

#include "checkpoints/hf_checkpoint.h"
#include "checkpoints/safetensors.h"
#include "models/qwen3.h"
#include "tests/unit/hf_config_spec.h"    // defines: SpecFromHfConfig
#include "tests/unit/model_test_util.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText

namespace zen {
namespace {

using testing::MaxRelativeError;
using testing::Positions;
using testing::ScratchDir;
using testing::ShiftedLabels;
using testing::SpecFromHfConfig;

class HfMoeOracle : public ::testing::TestWithParam<int> {};

TEST_P(HfMoeOracle, LogitsLossAndLoadBalancingLossMatchTransformers) {
  const int sparse_step = GetParam();
  ScratchDir dir("hf_moe_oracle_" + std::to_string(sparse_step));
  const std::string script = testing::ReadText(std::string(ZEN_SOURCE_DIR) + "/tests/oracle/make_tiny_qwen3_moe.py");
  const auto made = testing::RunPython(dir.path(), script, {dir.path(), "--sparse-step", std::to_string(sparse_step)});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const ModelSpec spec = SpecFromHfConfig(dir / "model/config.json");
  MoeSpec moe;
  moe.aux_loss_coef = 1.0;
  torch::manual_seed(0);
  Qwen3 model(spec, TpGroup{}, StageRange::Whole(spec), moe);
  const absl::Status loaded = LoadHfWeights(dir / "model", *model, TpGroup{});
  ASSERT_TRUE(loaded.ok()) << loaded;

  auto fixture = ReadSafetensors(dir / "fixture.safetensors");
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  const torch::Tensor ids = fixture->at("input_ids");
  torch::NoGradGuard no_grad;
  model->eval();
  model->moe_stats()->Reset(spec.experts);
  auto hidden = model->forward(ids, Positions(ids.size(0), ids.size(1)));
  auto labels = ShiftedLabels(ids);
  auto loss = model->loss_sum(hidden, labels) / labels.ne(kIgnoreLabel).sum();
  const double logits_error = MaxRelativeError(model->logits(hidden), fixture->at("logits"));
  const double loss_error = MaxRelativeError(loss, fixture->at("loss"));
  // zen's aux per layer is coef * E * sum f P with f over N * k choices; transformers' divides by N.
  const double ours = model->moe_stats()->aux_sum.item<double>();
  const double theirs = fixture->at("aux_hf").item<double>();
  std::cout << "[ oracle   ] MoE every " << sparse_step << " layer(s): logits max rel error " << logits_error
            << ", loss rel error " << loss_error << ", aux: zen " << ours << " x top_k " << spec.top_k
            << " vs transformers " << theirs << "\n";
  EXPECT_LE(logits_error, 1e-4);
  EXPECT_LE(loss_error, 1e-4);
  EXPECT_NEAR(ours * spec.top_k, theirs, 1e-5 * theirs);
}

INSTANTIATE_TEST_SUITE_P(Qwen3Moe, HfMoeOracle, ::testing::Values(1, 2),
                         [](const auto& info) { return "SparseStep" + std::to_string(info.param); });

}  // namespace
}  // namespace zen
