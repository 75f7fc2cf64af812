// AdamW keeps an fp32 master for a parameter stored in bf16: updates below bf16's resolution accumulate
// in the master (and reach the stored weight once they add up), where updating through a temporary
// would round every one of them away. The master is optimizer state: listed, saved and restored.
#include "trainer/adamw.h"

#include <gtest/gtest.h>

namespace zen {
namespace {

OptimSpec NoDecay() {
  OptimSpec spec;
  spec.beta1 = 0.9;
  spec.beta2 = 0.95;
  spec.eps = 1e-8;
  spec.weight_decay = 0;
  return spec;
}

// A constant gradient of +1: every Adam step moves each element by lr (bias-corrected, up to eps).
void StepWithUnitGrad(AdamW& opt, torch::Tensor& param, double lr) {
  param.mutable_grad() = torch::ones_like(param);
  opt.Step(lr);
}

torch::Tensor Master(const AdamW& opt, const std::string& name) {
  for (const auto& [state, t] : opt.StateTensors()) {
    if (state == name + ".master") return t;
  }
  return {};
}

TEST(AdamWMaster, UpdatesBelowBf16ResolutionAccumulateInTheFp32Master) {
  constexpr double kLr = 1e-3;  // below half of bf16's spacing just under 1 (2^-8), so 1 - lr rounds to 1
  ASSERT_EQ(torch::full({1}, 1.0 - kLr).to(torch::kBFloat16).item<float>(), 1.0f)
      << "without a master, each step's update would be lost to rounding";
  std::vector<NamedParam> params = {{"w", torch::ones({4}, torch::kBFloat16).set_requires_grad(true)}};
  AdamW opt(params, NoDecay());
  for (int step = 0; step < 10; ++step) StepWithUnitGrad(opt, params[0].param, kLr);

  const torch::Tensor master = Master(opt, "w");
  ASSERT_TRUE(master.defined());
  EXPECT_EQ(master.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(master, torch::full({4}, 1.0 - 10 * kLr), 0, 1e-6)) << master;
  EXPECT_EQ(params[0].param.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(params[0].param.detach(), master.to(torch::kBFloat16)));
  EXPECT_LT(params[0].param.detach().max().item<float>(), 1.0f);  // the steps reached the stored weight
}

TEST(AdamWMaster, Fp32ParamsHaveNoMaster) {
  std::vector<NamedParam> params = {{"w", torch::ones({4}).set_requires_grad(true)}};
  AdamW opt(params, NoDecay());
  EXPECT_FALSE(Master(opt, "w").defined());
  EXPECT_EQ(opt.StateTensors().size(), 3u);
}

TEST(AdamWMaster, RestoredMasterContinuesExactlyLikeTheOriginal) {
  std::vector<NamedParam> a = {{"w", torch::ones({4}, torch::kBFloat16).set_requires_grad(true)}};
  AdamW original(a, NoDecay());
  for (int step = 0; step < 3; ++step) StepWithUnitGrad(original, a[0].param, 1e-3);
  std::vector<NamedTensor> saved;
  for (auto& [name, t] : original.StateTensors()) saved.emplace_back(name, t.clone());

  // A fresh parameter holding only the rounded bf16 values: the master must come from the state.
  std::vector<NamedParam> b = {{"w", torch::zeros({4}, torch::kBFloat16).set_requires_grad(true)}};
  AdamW restored(b, NoDecay());
  ASSERT_TRUE(restored.LoadStateTensors(saved, original.step_count()).ok());
  EXPECT_TRUE(torch::equal(b[0].param.detach(), a[0].param.detach()));
  for (int step = 0; step < 3; ++step) {
    StepWithUnitGrad(original, a[0].param, 1e-3);
    StepWithUnitGrad(restored, b[0].param, 1e-3);
  }
  EXPECT_TRUE(torch::equal(Master(restored, "w"), Master(original, "w")));
  EXPECT_TRUE(torch::equal(b[0].param.detach(), a[0].param.detach()));
}

TEST(AdamWMaster, LoadRequiresTheMasterOfALowPrecisionParam) {
  std::vector<NamedParam> params = {{"w", torch::ones({2}, torch::kBFloat16).set_requires_grad(true)}};
  AdamW opt(params, NoDecay());
  std::vector<NamedTensor> without_master = {
      {"w.exp_avg", torch::zeros({2})}, {"w.exp_avg_sq", torch::zeros({2})}, {"w.step", torch::tensor(int64_t{1})}};
  EXPECT_FALSE(opt.LoadStateTensors(without_master, 1).ok());
}

}  // namespace
}  // namespace zen
