#include "trainer/grad_clip.h"

#include <cmath>

#include <gtest/gtest.h>

namespace zen {
namespace {

// Three params with grads of different sizes and one without a grad.
std::vector<torch::Tensor> ParamsWithGrads(double grad_scale) {
  torch::manual_seed(7);
  std::vector<torch::Tensor> params;
  for (auto shape : {std::vector<int64_t>{8, 5}, {5}, {3, 2, 4}, {6}}) {
    params.push_back(torch::randn(shape).set_requires_grad(true));
  }
  for (size_t i = 0; i < 3; ++i) params[i].mutable_grad() = torch::randn(params[i].sizes()) * grad_scale;
  return params;
}

std::vector<torch::Tensor> GradsOf(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return grads;
}

TEST(GradClip, NormAndClippedGradsEqualTorchClipGradNorm) {
  std::vector<torch::Tensor> ours = ParamsWithGrads(3.0);
  std::vector<torch::Tensor> theirs = ParamsWithGrads(3.0);
  const double torch_norm = torch::nn::utils::clip_grad_norm_(theirs, 1.0);
  const double norm = ClipGradNorm(ours, 1.0);
  EXPECT_NEAR(norm, torch_norm, 1e-5 * torch_norm);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::allclose(ours[i].grad(), theirs[i].grad(), 1e-5, 1e-7)) << i;
  }
  EXPECT_NEAR(GlobalGradNorm(ours), 1.0, 1e-5);  // clipped to max_norm
  EXPECT_FALSE(ours[3].grad().defined());
}

TEST(GradClip, NormBelowMaxLeavesGradsUntouched) {
  std::vector<torch::Tensor> params = ParamsWithGrads(1e-3);
  const std::vector<torch::Tensor> before = GradsOf(params);
  const double norm = ClipGradNorm(params, 1.0);
  EXPECT_LT(norm, 1.0);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(params[i].grad(), before[i])) << i;
}

TEST(GradClip, ZeroMaxNormOnlyMeasures) {
  std::vector<torch::Tensor> params = ParamsWithGrads(10.0);
  const std::vector<torch::Tensor> before = GradsOf(params);
  EXPECT_GT(ClipGradNorm(params, 0.0), 1.0);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(params[i].grad(), before[i])) << i;
}

TEST(GradClip, ReduceHookSeesTheSquaredSumAndItsResultSetsTheNorm) {
  std::vector<torch::Tensor> params = ParamsWithGrads(1.0);
  const double local = GlobalGradNorm(params);
  double seen = -1;
  // Two ranks with identical shards: the global squared sum is twice this rank's.
  const double global = GlobalGradNorm(params, [&](double squared) {
    seen = squared;
    return 2 * squared;
  });
  EXPECT_NEAR(seen, local * local, 1e-9 * local * local);
  EXPECT_NEAR(global, std::sqrt(2.0) * local, 1e-9 * local);
}

TEST(GradClip, ScaleGradsMultipliesEveryDefinedGrad) {
  std::vector<torch::Tensor> params = ParamsWithGrads(1.0);
  const std::vector<torch::Tensor> before = GradsOf(params);
  ScaleGrads(params, 0.5);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(params[i].grad(), before[i] * 0.5)) << i;
}

TEST(GradClip, Bf16GradsAreMeasuredInFp32) {
  auto p = torch::zeros({1000}, torch::kBFloat16).set_requires_grad(true);
  p.mutable_grad() = torch::full({1000}, 3.0, torch::kBFloat16);
  EXPECT_NEAR(GlobalGradNorm({p}), 3.0 * std::sqrt(1000.0), 1e-4);
}

TEST(GradClip, NoGradsGiveZeroNorm) {
  std::vector<torch::Tensor> params = {torch::ones({3}).set_requires_grad(true)};
  EXPECT_EQ(GlobalGradNorm(params), 0.0);
}

}  // namespace
}  // namespace zen
