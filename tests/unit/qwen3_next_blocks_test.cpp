// Qwen3-Next's blocks against transformers' own classes (tests/oracle/qwen3_next_blocks.py builds them on tiny
// random shapes with randomised norms, gates, A_log and dt_bias): the zero-centred RMSNorm, the gated
// attention with partial RoPE, the Gated DeltaNet at T = 37 (one padded chunk) and T = 150 (three chunks,
// the last padded), and the MoE with the gated shared expert. Each block's output and the gradients of its
// input and of every parameter must equal transformers'. Then the gated delta rule itself: the chunked form
// equals the recurrence, packed documents equal each document run alone, step-by-step decoding with the
// recurrent state equals the chunked forward, and the init rules are HF's.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"  // defines: ReadSafetensors
#include "models/gated_delta_rule.h"
#include "models/gated_deltanet.h"
#include "models/init.h"  // defines: InitParameters
#include "models/layer_inputs.h"  // defines: LayerInputs
#include "models/moe.h"
#include "models/qwen3_next_blocks.h"
#include "tests/unit/model_test_util.h"    // defines: MaxRelativeError
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText

namespace zen {
namespace {

using testing::MaxRelativeError;
using testing::ScratchDir;

constexpr double kTolerance = 1e-5;

// The tiny config of qwen3_next_blocks.py.
constexpr int64_t kHidden = 32;

GatedDeltaNetSpec TinyGdn() {
  GatedDeltaNetSpec spec;
  spec.hidden = kHidden, spec.key_heads = 2, spec.value_heads = 4, spec.key_head_dim = 8, spec.value_head_dim = 12;
  spec.conv_kernel = 4, spec.norm_eps = 1e-6;
  return spec;
}

ModelSpec TinyModel() {
  ModelSpec spec;
  spec.hidden = kHidden, spec.heads = 4, spec.kv_heads = 2, spec.head_dim = 16, spec.norm_eps = 1e-6;
  spec.experts = 4, spec.top_k = 2, spec.expert_ffn = 16, spec.shared_ffn = 24;
  return spec;
}

using Tensors = std::map<std::string, torch::Tensor>;

// The oracle's files, made once for every test of this file.
class Qwen3NextOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("qwen3_next_blocks");
    const std::string script = testing::ReadText(std::string(ZEN_SOURCE_DIR) + "/tests/oracle/qwen3_next_blocks.py");
    const auto run = testing::RunPython(dir_->path(), script, {dir_->path()});
    ok_ = run.exit_code == 0;
    if (!ok_) std::cerr << "qwen3_next_blocks.py failed:\n" << run.output;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_TRUE(ok_) << "the oracle script failed (output above)"; }

  static Tensors Read(const std::string& file) {
    auto tensors = ReadSafetensors(*dir_ / file);
    EXPECT_TRUE(tensors.ok()) << tensors.status();
    return tensors.ok() ? *tensors : Tensors{};
  }

  // Copies transformers' parameters into `module` by name; each parameter must be covered.
  static void Load(torch::nn::Module& module, const std::string& block) {
    const Tensors tensors = Read(block + ".params.safetensors");
    auto params = module.named_parameters();
    ASSERT_EQ(params.size(), tensors.size()) << block;
    torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : tensors) {
      torch::Tensor* param = params.find(name);
      ASSERT_NE(param, nullptr) << "zen has no parameter " << name;
      ASSERT_EQ(param->sizes(), tensor.sizes()) << name;
      param->copy_(tensor);
    }
  }

  // Runs `forward` on the oracle's x, back-propagates its dy, and compares the output and every gradient.
  template <typename Forward>
  static void ExpectMatches(torch::nn::Module& module, const std::string& block, Forward forward) {
    const Tensors io = Read(block + ".io.safetensors");
    torch::Tensor x = io.at("x").clone().requires_grad_(true);
    torch::Tensor y = forward(x);
    (y * io.at("dy")).sum().backward();
    const double out = MaxRelativeError(y.detach(), io.at("y"));
    double worst_grad = MaxRelativeError(x.grad(), io.at("grad.x"));
    std::string worst = "x";
    EXPECT_LE(worst_grad, kTolerance) << block << ": grad of x";
    for (const auto& p : module.named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << block << ": no gradient for " << p.key();
      const double err = MaxRelativeError(p.value().grad(), io.at("grad." + p.key()));
      EXPECT_LE(err, kTolerance) << block << ": grad of " << p.key();
      if (err > worst_grad) worst_grad = err, worst = p.key();
    }
    std::cout << "[ oracle   ] " << block << ": output max rel error " << out << ", gradients (x and "
              << module.named_parameters().size() << " parameters) at most " << worst_grad << " (" << worst << ")\n";
    EXPECT_LE(out, kTolerance) << block << ": output";
  }

 private:
  static inline std::unique_ptr<ScratchDir> dir_;
  static inline bool ok_ = false;
};

TEST_F(Qwen3NextOracle, ZeroCentredRmsNormMatchesTransformers) {
  ZeroCentredRmsNorm norm(kHidden, 1e-6);
  ASSERT_NO_FATAL_FAILURE(Load(*norm, "norm"));
  ExpectMatches(*norm, "norm", [&](const torch::Tensor& x) { return norm(x); });
}

TEST_F(Qwen3NextOracle, GatedAttentionWithPartialRopeMatchesTransformers) {
  const ModelSpec spec = TinyModel();
  GatedAttention attention(spec, RotaryDim(spec.HeadDim(), 0.25), TpGroup{});
  ASSERT_NO_FATAL_FAILURE(Load(*attention, "attention"));
  ExpectMatches(*attention, "attention", [&](const torch::Tensor& x) {
    const torch::Tensor positions = torch::arange(x.size(1)).unsqueeze(0).expand({x.size(0), x.size(1)});
    const Rope rope = MakeRope(positions, RotaryDim(spec.HeadDim(), 0.25), 10000.0, torch::kFloat32);
    return attention->Attend(x, rope, torch::Tensor());
  });
}

TEST_F(Qwen3NextOracle, GatedDeltaNetMatchesTransformersWithinOneChunk) {
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  ASSERT_NO_FATAL_FAILURE(Load(*gdn, "gdn_short"));
  ExpectMatches(*gdn, "gdn_short", [&](const torch::Tensor& x) { return gdn->Mix(x); });
}

TEST_F(Qwen3NextOracle, GatedDeltaNetMatchesTransformersOverSeveralChunks) {
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  ASSERT_NO_FATAL_FAILURE(Load(*gdn, "gdn_long"));
  ExpectMatches(*gdn, "gdn_long", [&](const torch::Tensor& x) { return gdn->Mix(x); });
}

TEST_F(Qwen3NextOracle, MoeWithGatedSharedExpertMatchesTransformers) {
  MoeSpec moe;
  moe.aux_loss_coef = 0;  // transformers' block adds no auxiliary gradient
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(4);
  MoeBlock block(TinyModel(), moe, ModelGroups{}, stats, /*gated_shared_expert=*/true);
  ASSERT_NO_FATAL_FAILURE(Load(*block, "moe"));
  ExpectMatches(*block, "moe", [&](const torch::Tensor& x) { return block(x); });
}

// Random inputs of the rule: q, k (B, T, 2, 8), v (B, T, 4, 12), g <= 0, beta in (0, 1).
struct RuleInputs {
  torch::Tensor q, k, v, g, beta, state;
};

RuleInputs RandomRuleInputs(int64_t b, int64_t t, uint64_t seed) {
  torch::manual_seed(seed);
  RuleInputs in;
  in.q = torch::randn({b, t, 2, 8});
  in.k = torch::randn({b, t, 2, 8});
  in.v = torch::randn({b, t, 4, 12});
  in.g = -torch::rand({b, t, 4}) * 0.5;
  in.beta = torch::rand({b, t, 4});
  in.state = torch::randn({b, 4, 8, 12}) * 0.3;
  return in;
}

TEST(GatedDeltaRule, ChunkedEqualsTheRecurrenceInOutputStateAndGradients) {
  for (const int64_t t : {1, 37, 64, 150}) {
    RuleInputs in = RandomRuleInputs(2, t, 7 + t);
    for (auto* x : {&in.q, &in.k, &in.v, &in.g, &in.beta}) x->requires_grad_(true);
    auto run = [&](bool chunked) {
      DeltaRuleOutput r = chunked ? ChunkGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, in.state)
                                  : RecurrentGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, in.state);
      const auto grads = torch::autograd::grad({r.out.sum() + r.state.pow(2).sum()}, {in.q, in.k, in.v, in.g, in.beta});
      return std::make_pair(r, grads);
    };
    const auto [chunk, chunk_grads] = run(true);
    const auto [step, step_grads] = run(false);
    const double out = MaxRelativeError(chunk.out, step.out), state = MaxRelativeError(chunk.state, step.state);
    double grads = 0;
    for (size_t i = 0; i < chunk_grads.size(); ++i) grads = std::max(grads, MaxRelativeError(chunk_grads[i], step_grads[i]));
    std::cout << "[ rule     ] T=" << t << ": chunked vs recurrence max rel error out " << out << ", state " << state
              << ", gradients " << grads << "\n";
    EXPECT_LE(out, kTolerance) << "T=" << t;
    EXPECT_LE(state, kTolerance) << "T=" << t;
    EXPECT_LE(grads, kTolerance) << "T=" << t;
  }
}

TEST(GatedDeltaRule, PackedDocumentsEqualEachDocumentAlone) {
  // Row 0: documents of 30, 50, 70 positions (boundaries inside chunks, one across the chunk edge at 64);
  // row 1: 64, 1, 85 (a boundary on the edge, a one-token document). Ids repeat across rows on purpose.
  const std::vector<std::vector<int64_t>> lengths = {{30, 50, 70}, {64, 1, 85}};
  const int64_t t = 150;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, t, kHidden});
  torch::Tensor documents = torch::zeros({2, t}, torch::kLong);
  for (int64_t row = 0; row < 2; ++row) {
    int64_t begin = 0;
    for (size_t d = 0; d < lengths[row].size(); ++d) {
      documents[row].narrow(0, begin, lengths[row][d]).fill_(static_cast<int64_t>(d % 2));  // ids 0, 1, 0
      begin += lengths[row][d];
    }
  }
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  torch::NoGradGuard no_grad;
  const torch::Tensor packed = gdn->Mix(x, documents);
  double worst = 0;
  for (int64_t row = 0; row < 2; ++row) {
    int64_t begin = 0;
    for (const int64_t length : lengths[row]) {
      const torch::Tensor alone = gdn->Mix(x[row].narrow(0, begin, length).unsqueeze(0));
      worst = std::max(worst, MaxRelativeError(packed[row].narrow(0, begin, length), alone[0]));
      begin += length;
    }
  }
  // The same packing through the recurrence.
  const RuleInputs in = RandomRuleInputs(2, t, 5);
  const double rule = MaxRelativeError(ChunkGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, {}, documents).out,
                                       RecurrentGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, {}, documents).out);
  std::cout << "[ packed   ] max rel error packed vs alone " << worst << ", chunked vs recurrence " << rule << "\n";
  EXPECT_LE(worst, kTolerance);
  EXPECT_LE(rule, kTolerance);
  // And the boundaries matter: without them the later documents differ.
  EXPECT_GT(MaxRelativeError(gdn->Mix(x), packed), 1e-3);
}

TEST(GatedDeltaNet, DecodingStepByStepWithTheRecurrentStateEqualsTheChunkedForward) {
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({2, 100, kHidden});
  torch::NoGradGuard no_grad;
  const torch::Tensor full = gdn->Mix(x);
  RecurrentState cache;
  std::vector<torch::Tensor> pieces = {gdn->Mix(x.narrow(1, 0, 37), {}, &cache)};  // prefill: the chunked rule
  ASSERT_EQ(cache.conv.sizes(), (std::vector<int64_t>{2, 2 * 2 * 8 + 4 * 12, 3}));
  ASSERT_EQ(cache.state.sizes(), (std::vector<int64_t>{2, 4, 8, 12}));
  for (int64_t i = 37; i < 100; ++i) pieces.push_back(gdn->Mix(x.narrow(1, i, 1), {}, &cache));  // the recurrence
  const double err = MaxRelativeError(torch::cat(pieces, 1), full);
  std::cout << "[ decode   ] prefill 37 + 63 single steps vs one chunked forward: max rel error " << err << "\n";
  EXPECT_LE(err, kTolerance);
}

TEST(GatedAttention, DecodingWithTheKvCacheEqualsTheFullForward) {
  const ModelSpec spec = TinyModel();
  GatedAttention attention(spec, RotaryDim(spec.HeadDim(), 0.25), TpGroup{});
  torch::manual_seed(6);
  for (auto& p : attention->parameters()) p.detach().normal_(0.0, 0.3);  // norms off their zero init too
  const torch::Tensor x = torch::randn({2, 12, kHidden});
  auto rope = [&](int64_t begin, int64_t length) {
    const torch::Tensor positions = torch::arange(begin, begin + length).unsqueeze(0).expand({2, length});
    return MakeRope(positions, RotaryDim(spec.HeadDim(), 0.25), 10000.0, torch::kFloat32);
  };
  torch::NoGradGuard no_grad;
  const torch::Tensor full = attention->Attend(x, rope(0, 12), {});
  KvState cache;
  std::vector<torch::Tensor> pieces = {attention->Attend(x.narrow(1, 0, 5), rope(0, 5), {}, &cache)};
  for (int64_t i = 5; i < 12; ++i) pieces.push_back(attention->Attend(x.narrow(1, i, 1), rope(i, 1), {}, &cache));
  EXPECT_LE(MaxRelativeError(torch::cat(pieces, 1), full), kTolerance);
}

TEST(Qwen3NextMixers, RunBehindTheTokenMixerSeam) {
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  const ModelSpec spec = TinyModel();
  const int64_t rotary = RotaryDim(spec.HeadDim(), 0.25);
  GatedAttention attention(spec, rotary, TpGroup{});
  torch::manual_seed(8);
  for (auto& p : attention->parameters()) p.detach().normal_(0.0, 0.3);
  const torch::Tensor x = torch::randn({1, 20, kHidden});
  const torch::Tensor positions = torch::arange(20).unsqueeze(0);
  const Rope rope = MakeRope(positions, rotary, spec.rope_theta, torch::kFloat32);
  torch::Tensor segments = torch::zeros({1, 20}, torch::kLong);
  segments.narrow(1, 9, 11).fill_(1);
  torch::NoGradGuard no_grad;
  // Training: the call's segments are the Gated DeltaNet's documents and the attention's block-causal mask.
  LayerInputs packed(x, positions, segments);
  EXPECT_TRUE(torch::equal(gdn->forward(x, packed, nullptr), gdn->Mix(x, segments)));
  EXPECT_TRUE(torch::equal(attention->forward(x, packed, nullptr), attention->Attend(x, rope, BlockCausalMask(segments))));
  // Generation: a 12-position prompt, then one position a call; each layer's cache holds its own kind.
  LayerCache gdn_cache, attention_cache;
  LayerInputs prompt(x.narrow(1, 0, 12), positions.narrow(1, 0, 12));
  std::vector<torch::Tensor> gdn_out = {gdn->forward(x.narrow(1, 0, 12), prompt, &gdn_cache)};
  std::vector<torch::Tensor> attention_out = {attention->forward(x.narrow(1, 0, 12), prompt, &attention_cache)};
  for (int64_t i = 12; i < 20; ++i) {
    LayerInputs step(x.narrow(1, i, 1), positions.narrow(1, i, 1), {}, /*cached=*/i);
    gdn_out.push_back(gdn->forward(x.narrow(1, i, 1), step, &gdn_cache));
    attention_out.push_back(attention->forward(x.narrow(1, i, 1), step, &attention_cache));
  }
  EXPECT_TRUE(std::holds_alternative<RecurrentState>(gdn_cache.state));
  EXPECT_TRUE(std::holds_alternative<KvState>(attention_cache.state));
  EXPECT_LE(MaxRelativeError(torch::cat(gdn_out, 1), gdn->Mix(x)), kTolerance);
  EXPECT_LE(MaxRelativeError(torch::cat(attention_out, 1), attention->Attend(x, rope, {})), kTolerance);
}

TEST(GatedDeltaNet, DeclaresHeadShardedParametersAndHfInitRules) {
  GatedDeltaNet gdn(TinyGdn(), TpGroup{});
  const auto infos = ParamInfos(*gdn);
  EXPECT_EQ(infos.at("A_log").split_dim, 0);
  EXPECT_EQ(infos.at("dt_bias").split_dim, 0);
  EXPECT_EQ(infos.at("conv1d.weight").split_dim, -1);  // whole, its gradient partial over tp
  EXPECT_TRUE(infos.at("conv1d.weight").grad_partial_over.tp);
  EXPECT_TRUE(infos.at("norm.weight").grad_partial_over.tp);
  EXPECT_TRUE(UndeclaredParameters(*gdn).empty());
  InitParameters(*gdn, /*seed=*/9, TpGroup{});
  const torch::Tensor a = gdn->A_log.exp();  // A ~ U(0.01, 16)
  EXPECT_GE(a.min().item<double>(), 0.01 - 1e-6);
  EXPECT_LE(a.max().item<double>(), 16.0 + 1e-4);
  EXPECT_GT(a.std().item<double>(), 0.5);  // drawn, not a constant
  EXPECT_TRUE(torch::equal(gdn->dt_bias, torch::ones({4})));
  EXPECT_TRUE(torch::equal(gdn->norm->weight, torch::ones({12})));
  ZeroCentredRmsNorm norm(kHidden, 1e-6);
  norm->weight.detach().fill_(3.0);
  InitParameters(*norm, /*seed=*/9, TpGroup{});
  EXPECT_TRUE(torch::equal(norm->weight, torch::zeros({kHidden})));  // scale 1 + 0
}

}  // namespace
}  // namespace zen
