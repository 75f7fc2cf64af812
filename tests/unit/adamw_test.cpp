// AdamW against torch.optim.AdamW run by Python on the same params and grads.
#include "trainer/adamw.h"

#include <map>

#include <gtest/gtest.h>

#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadFloat32

namespace zen {
namespace {

using testing::ReadFloat32;
using testing::ScratchDir;

// Five steps on three params: "w" (4x3) and "e" (5x2) decay, "b" (3) does not; "e" has no grad at
// step 2 (torch skips it, and its bias correction must not count that step).
constexpr const char* kOracle = R"PY(
import sys, torch
out = sys.argv[1]
torch.manual_seed(0)
shapes = {"w": (4, 3), "b": (3,), "e": (5, 2)}
params = {n: torch.nn.Parameter(torch.randn(*s)) for n, s in shapes.items()}
lrs = [1e-2, 2e-2, 3e-2, 2e-2, 1e-2]
dump = lambda t, name: t.detach().contiguous().numpy().astype("<f4").tofile(f"{out}/{name}.bin")
for n, p in params.items(): dump(p, f"{n}.init")
opt = torch.optim.AdamW([{"params": [params["w"], params["e"]], "weight_decay": 0.1},
                         {"params": [params["b"]], "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.95), eps=1e-8, foreach=False)
for k, lr in enumerate(lrs):
    for g in opt.param_groups: g["lr"] = lr
    for n, p in params.items():
        p.grad = None if (n == "e" and k == 2) else torch.randn_like(p)
        if p.grad is not None: dump(p.grad, f"{n}.grad{k}")
    opt.step()
for n, p in params.items():
    dump(p, f"{n}.final")
    dump(opt.state[p]["exp_avg"], f"{n}.exp_avg")
    dump(opt.state[p]["exp_avg_sq"], f"{n}.exp_avg_sq")
    print(n, int(opt.state[p]["step"]))
)PY";

OptimSpec Spec(double weight_decay) {
  OptimSpec spec;
  spec.beta1 = 0.9;
  spec.beta2 = 0.95;
  spec.eps = 1e-8;
  spec.weight_decay = weight_decay;
  return spec;
}

torch::Tensor Param(torch::Tensor values) { return values.set_requires_grad(true); }

void ExpectClose(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  const double max_diff = (actual - expected).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/1e-6, /*atol=*/1e-7))
      << what << ": max |diff| " << max_diff;
}

TEST(AdamW, FiveStepsMatchTorchAdamWWithPerParamDecayAndSkippedGrad) {
  ScratchDir dir("adamw_oracle");
  testing::PythonRun run = testing::RunPython(dir.path(), kOracle, {dir.path()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::map<std::string, std::vector<int64_t>> shapes = {{"w", {4, 3}}, {"b", {3}}, {"e", {5, 2}}};
  std::vector<NamedParam> params;
  for (const auto& [name, shape] : shapes) {
    params.push_back({name, Param(ReadFloat32(dir / (name + ".init.bin"), shape))});
  }
  AdamW opt(params, Spec(0.1));
  const std::vector<double> lrs = {1e-2, 2e-2, 3e-2, 2e-2, 1e-2};
  for (size_t k = 0; k < lrs.size(); ++k) {
    opt.ZeroGrad();
    for (NamedParam& p : params) {
      if (p.name == "e" && k == 2) continue;
      p.param.mutable_grad() = ReadFloat32(dir / (p.name + ".grad" + std::to_string(k) + ".bin"),
                                           shapes.at(p.name));
    }
    opt.Step(lrs[k]);
  }
  EXPECT_EQ(opt.step_count(), 5);
  std::map<std::string, torch::Tensor> state;
  for (auto& [name, t] : opt.StateTensors()) state[name] = t;
  for (const NamedParam& p : params) {
    const auto& shape = shapes.at(p.name);
    ExpectClose(p.param.detach(), ReadFloat32(dir / (p.name + ".final.bin"), shape), p.name);
    ExpectClose(state.at(p.name + ".exp_avg"), ReadFloat32(dir / (p.name + ".exp_avg.bin"), shape),
                p.name + ".exp_avg");
    ExpectClose(state.at(p.name + ".exp_avg_sq"),
                ReadFloat32(dir / (p.name + ".exp_avg_sq.bin"), shape), p.name + ".exp_avg_sq");
  }
  EXPECT_EQ(state.at("e.step").item<int64_t>(), 4);
  EXPECT_EQ(state.at("w.step").item<int64_t>(), 5);
  EXPECT_NE(run.output.find("e 4"), std::string::npos) << run.output;
}

TEST(AdamW, DecaysMatricesButNotOneDimensionalParams) {
  EXPECT_TRUE(DecaysWeight({"layers.0.attn.q.weight", torch::zeros({4, 4})}));
  EXPECT_TRUE(DecaysWeight({"embed.weight", torch::zeros({10, 4})}));
  EXPECT_FALSE(DecaysWeight({"layers.0.input_norm.weight", torch::zeros({4})}));
  EXPECT_FALSE(DecaysWeight({"lm_head.bias", torch::zeros({10})}));
}

// With zero grads the Adam term is 0 / (0 + eps) = 0, so only weight decay moves a param.
TEST(AdamW, ZeroGradStepShrinksOnlyMatricesByLrTimesDecay) {
  std::vector<NamedParam> params = {{"w", Param(torch::ones({2, 3}))}, {"norm", Param(torch::ones({3}))}};
  AdamW opt(params, Spec(0.5));
  for (NamedParam& p : params) p.param.mutable_grad() = torch::zeros_like(p.param);
  opt.Step(0.1);
  EXPECT_TRUE(torch::allclose(params[0].param.detach(), torch::full({2, 3}, 1 - 0.1 * 0.5)));
  EXPECT_TRUE(torch::equal(params[1].param.detach(), torch::ones({3})));
}

TEST(AdamW, IgnoresFrozenParamsAndLeavesParamsWithoutGradUntouched) {
  std::vector<NamedParam> params = {{"frozen", torch::ones({2, 2})},
                                    {"used", Param(torch::ones({2, 2}))},
                                    {"unused", Param(torch::ones({2, 2}))}};
  AdamW opt(params, Spec(0.1));
  ASSERT_EQ(opt.params().size(), 2u);
  EXPECT_EQ(opt.params()[0].name, "used");
  EXPECT_EQ(opt.StateTensors().size(), 6u);
  params[1].param.mutable_grad() = torch::ones({2, 2});
  opt.Step(1e-2);
  EXPECT_FALSE(torch::equal(params[1].param.detach(), torch::ones({2, 2})));
  EXPECT_TRUE(torch::equal(params[2].param.detach(), torch::ones({2, 2})));
  EXPECT_TRUE(torch::equal(params[0].param, torch::ones({2, 2})));
  opt.ZeroGrad();
  EXPECT_FALSE(params[1].param.grad().defined());
}

TEST(AdamW, RestoredStateContinuesExactlyLikeTheOriginal) {
  torch::manual_seed(1);
  const torch::Tensor init = torch::randn({3, 4});
  const std::vector<torch::Tensor> grads = {torch::randn({3, 4}), torch::randn({3, 4}), torch::randn({3, 4})};
  std::vector<NamedParam> a = {{"w", Param(init.clone())}};
  AdamW original(a, Spec(0.1));
  for (int k = 0; k < 2; ++k) {
    a[0].param.mutable_grad() = grads[k];
    original.Step(1e-2);
  }
  std::vector<NamedParam> b = {{"w", Param(a[0].param.detach().clone())}};
  AdamW restored(b, Spec(0.1));
  std::vector<NamedTensor> saved;
  for (auto& [name, t] : original.StateTensors()) saved.emplace_back(name, t.clone());
  ASSERT_TRUE(restored.LoadStateTensors(saved, original.step_count()).ok());
  EXPECT_EQ(restored.step_count(), 2);
  a[0].param.mutable_grad() = grads[2];
  b[0].param.mutable_grad() = grads[2];
  original.Step(1e-2);
  restored.Step(1e-2);
  EXPECT_TRUE(torch::equal(a[0].param, b[0].param));
}

TEST(AdamW, LoadRejectsMissingUnknownOrMisshapenStateAndKeepsItsOwn) {
  std::vector<NamedParam> params = {{"w", Param(torch::ones({2, 2}))}};
  AdamW opt(params, Spec(0.1));
  const torch::Tensor step = torch::tensor(int64_t{3});
  std::vector<NamedTensor> missing = {{"w.exp_avg", torch::ones({2, 2})}, {"w.step", step}};
  EXPECT_FALSE(opt.LoadStateTensors(missing, 3).ok());
  std::vector<NamedTensor> unknown = {
      {"w.exp_avg", torch::ones({2, 2})}, {"x.exp_avg_sq", torch::ones({2, 2})}, {"w.step", step}};
  EXPECT_FALSE(opt.LoadStateTensors(unknown, 3).ok());
  std::vector<NamedTensor> misshapen = {
      {"w.exp_avg", torch::ones({4})}, {"w.exp_avg_sq", torch::ones({2, 2})}, {"w.step", step}};
  absl::Status s = opt.LoadStateTensors(misshapen, 3);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("w.exp_avg"), std::string::npos) << s;
  EXPECT_EQ(opt.step_count(), 0);
  EXPECT_TRUE(torch::equal(opt.StateTensors()[0].second, torch::zeros({2, 2})));
}

TEST(AdamW, Bf16ParamsKeepFp32StateAndStayBf16) {
  std::vector<NamedParam> params = {{"w", Param(torch::ones({2, 2}, torch::kBFloat16))}};
  AdamW opt(params, Spec(0.0));
  params[0].param.mutable_grad() = torch::ones({2, 2}, torch::kBFloat16);
  opt.Step(0.25);
  for (auto& [name, t] : opt.StateTensors()) {
    if (name != "w.step") EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
  }
  EXPECT_EQ(params[0].param.scalar_type(), torch::kBFloat16);
  // First Adam step moves by lr * sign(g) (up to eps): 1 - 0.25.
  EXPECT_TRUE(torch::allclose(params[0].param.detach().to(torch::kFloat32), torch::full({2, 2}, 0.75)));
}

}  // namespace
}  // namespace zen
