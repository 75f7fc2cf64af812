// The token-mixer seam (models/token_mixer.h): a model whose layers mix tokens in two ways, attention and
// a trivial per-head recurrence this test registers (RegisterMixer), gives the same numbers
//   - cached token by token (LayerCache holding K/V in one layer, a recurrent state in the next) as over
//     the whole sequence, and over packed documents (segments) as over each document alone;
//   - under tp = 2, pp = 2 and both (4 ranks) as in one process: the loss and every gradient.
// Runs under mpirun with 2 ranks (mpi.token_mixer.np2) and 4 (mpi.token_mixer.np4).
#include <mpi.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "models/mixer_registry.h"  // defines: RegisterMixer, MixerKind
#include "models/qwen3.h"           // defines: Qwen3, StageRange, KvCache, CheckSupported
#include "models/token_mixer.h"     // defines: TokenMixer, LayerInputs, LayerCache, RecurrentState
#include "parallel/communicator.h"
#include "parallel/layers.h"        // defines: ColumnParallelLinear, RowParallelLinear, TpShard
#include "parallel/param_info.h"    // defines: ParamInfo, ParamInfos
#include "parallel/tp_gradients.h"  // defines: GroupByTpSplit, AllReducePartialGradients

namespace zen {
namespace {

constexpr char kDecay[] = "test_decay";

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

// A per-head linear recurrence: h_t = sigmoid(decay) * h_{t-1} + in_proj(x_t), y_t = out_proj(h_t), the
// state starting from zero at each document's first token. Heads are split over tp like attention's:
// in_proj by columns, out_proj by rows, and the per-head `decay` vector (not a linear's) by its ParamInfo.
class DecayMixerImpl : public TokenMixer {
 public:
  DecayMixerImpl(const ModelSpec& spec, const TpGroup& tp)
      : local_heads_(spec.heads / tp.size), head_dim_(spec.HeadDim()) {
    in_proj = register_module("in_proj", ColumnParallelLinear(spec.hidden, spec.heads * head_dim_, tp));
    ParamInfo per_head;
    per_head.split_dim = 0;
    decay = RegisterParameter("decay", torch::empty({local_heads_}), per_head);
    out_proj = register_module("out_proj", RowParallelLinear(spec.heads * head_dim_, spec.hidden, tp));
  }

  torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) override {
    const int64_t b = x.size(0), t = x.size(1);
    auto u = in_proj(x).view({b, t, local_heads_, head_dim_});  // (B, T, H/tp, hd)
    auto a = torch::sigmoid(decay).view({1, local_heads_, 1});  // (1, H/tp, 1)
    RecurrentState* saved = cache != nullptr ? &cache->As<RecurrentState>() : nullptr;
    torch::Tensor h = saved != nullptr && saved->state.defined() ? saved->state
                                                                 : torch::zeros({b, local_heads_, head_dim_}, u.options());
    // keep (B, T): 0 where a new document starts (its state restarts), else 1.
    torch::Tensor keep = torch::ones({b, t}, u.options());
    if (in.segments().defined() && t > 1) {
      keep.slice(1, 1).copy_(in.segments().slice(1, 1).eq(in.segments().slice(1, 0, -1)));
    }
    std::vector<torch::Tensor> ys;
    for (int64_t i = 0; i < t; ++i) {
      h = a * h * keep.select(1, i).view({b, 1, 1}) + u.select(1, i);
      ys.push_back(h);
    }
    if (saved != nullptr) saved->state = h;
    return out_proj(torch::stack(ys, 1).reshape({b, t, local_heads_ * head_dim_}));
  }

  ColumnParallelLinear in_proj{nullptr};
  RowParallelLinear out_proj{nullptr};
  torch::Tensor decay;  // (H/tp)

 private:
  int64_t local_heads_, head_dim_;
};
TORCH_MODULE(DecayMixer);

void RegisterDecayMixer() {
  RegisterMixer(kDecay, MixerKind{"decay_mix", [](const ModelSpec& spec, int64_t, const ModelGroups& groups) {
                                    return std::shared_ptr<TokenMixer>(DecayMixer(spec, groups.tp).ptr());
                                  }});
}

// Four layers: attention, decay, sliding-window attention, decay.
ModelSpec TwoMixerSpec() {
  RegisterDecayMixer();
  ModelSpec spec;
  spec.layers = 4;
  spec.hidden = 32;
  spec.heads = 4;
  spec.kv_heads = 2;
  spec.ffn = 64;
  spec.vocab = 64;
  spec.tie_embeddings = false;  // a pipeline's last stage then needs no copy of the embedding
  spec.sliding_window = 3;
  spec.sliding_layers = {2};
  spec.mixers = {"attention", kDecay, "attention", kDecay};
  return spec;
}

Qwen3 Build(const ModelSpec& spec, const TpGroup& tp, StageRange stage) {
  torch::manual_seed(17);  // the model's one draw: every layout holds the same numbers
  return Qwen3(spec, tp, stage);
}

torch::Tensor Positions(int64_t b, int64_t t) { return torch::arange(t, torch::kLong).unsqueeze(0).repeat({b, 1}); }

TEST(TokenMixer, LayersOfBothKindsAreNamedByTheirKindAndAnUnknownKindIsBadInput) {
  ModelSpec spec = TwoMixerSpec();
  Qwen3 model = Build(spec, TpGroup{}, StageRange::Whole(spec));
  auto params = model->named_parameters();
  EXPECT_NE(params.find("model.layers.0.self_attn.q_proj.weight"), nullptr);
  EXPECT_NE(params.find("model.layers.1.decay_mix.decay"), nullptr);
  EXPECT_EQ(params.find("model.layers.1.self_attn.q_proj.weight"), nullptr);
  EXPECT_EQ(ParamInfos(*model).at("model.layers.3.decay_mix.decay").split_dim, 0);

  spec.mixers[1] = "no_such_mixer";
  const absl::Status status = CheckSupported(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(std::string(status.message()).find("model.mixers"), std::string::npos) << status;
  EXPECT_NE(std::string(status.message()).find("no_such_mixer"), std::string::npos) << status;
}

TEST(TokenMixer, CachedGenerationEqualsTheWholeSequenceInEveryKindOfLayer) {
  const ModelSpec spec = TwoMixerSpec();
  Qwen3 model = Build(spec, TpGroup{}, StageRange::Whole(spec));
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const int64_t b = 2, t = 9, prompt = 4;
  const torch::Tensor tokens = torch::randint(spec.vocab, {b, t}, torch::kLong);
  const torch::Tensor whole = model->logits(model->forward(tokens, Positions(b, t)));  // (B, T, V)

  KvCache cache;
  std::vector<torch::Tensor> steps{model->forward_cached(tokens.slice(1, 0, prompt), cache)};  // prefill
  for (int64_t i = prompt; i < t; ++i) steps.push_back(model->forward_cached(tokens.slice(1, i, i + 1), cache));
  const torch::Tensor cached = torch::cat(steps, 1);
  EXPECT_TRUE(torch::allclose(cached, whole, 1e-5, 1e-5)) << (cached - whole).abs().max();
  ASSERT_EQ(cache.layers.size(), 4u);
  EXPECT_TRUE(std::holds_alternative<KvState>(cache.layers[0].state));
  EXPECT_TRUE(std::holds_alternative<RecurrentState>(cache.layers[1].state));
  EXPECT_EQ(std::get<KvState>(cache.layers[2].state).k.size(2), t);  // every position's keys
  EXPECT_EQ(std::get<RecurrentState>(cache.layers[3].state).state.sizes(),
            (std::vector<int64_t>{b, spec.heads, spec.HeadDim()}));  // a fixed-size state
}

TEST(TokenMixer, PackedDocumentsEqualEachDocumentAloneInEveryKindOfLayer) {
  const ModelSpec spec = TwoMixerSpec();
  Qwen3 model = Build(spec, TpGroup{}, StageRange::Whole(spec));
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  const int64_t first = 3, second = 5;
  const torch::Tensor a = torch::randint(spec.vocab, {1, first}, torch::kLong);
  const torch::Tensor b = torch::randint(spec.vocab, {1, second}, torch::kLong);
  const torch::Tensor packed = torch::cat({a, b}, 1);
  const torch::Tensor positions = torch::cat({Positions(1, first), Positions(1, second)}, 1);
  const torch::Tensor segments =
      torch::cat({torch::zeros({1, first}, torch::kLong), torch::ones({1, second}, torch::kLong)}, 1);
  const torch::Tensor together = model->forward(packed, positions, segments);
  const torch::Tensor alone = torch::cat({model->forward(a, Positions(1, first)), model->forward(b, Positions(1, second))}, 1);
  EXPECT_TRUE(torch::allclose(together, alone, 1e-5, 1e-5)) << (together - alone).abs().max();
}

// One training step's loss and gradients under tp x pp over the world (tp-major: rank = tp + tp_size *
// stage) equal one process's. The stages hand hidden states forward and their gradients back.
void ExpectLayoutMatchesOneProcess(int64_t tp_size, int64_t pp_size) {
  Communicator& w = World();
  ASSERT_EQ(w.size(), tp_size * pp_size);
  const ModelSpec spec = TwoMixerSpec();
  std::unique_ptr<Communicator> tp_comm = w.Split(/*color=*/w.rank() / tp_size, /*key=*/w.rank(), "tp");
  const TpGroup tp = tp_size > 1 ? TpGroup{tp_comm.get(), w.rank() % tp_size, tp_size} : TpGroup{};
  const int64_t stage = w.rank() / tp_size, per_stage = spec.layers / pp_size;
  const StageRange range{stage * per_stage, (stage + 1) * per_stage, stage == 0, stage == pp_size - 1};
  Qwen3 mine = Build(spec, tp, range);
  Qwen3 whole = Build(spec, TpGroup{}, StageRange::Whole(spec));

  torch::manual_seed(5);
  const int64_t b = 2, t = 7;
  const torch::Tensor tokens = torch::randint(spec.vocab, {b, t}, torch::kLong);
  const torch::Tensor labels = torch::randint(spec.vocab, {b, t}, torch::kLong);
  const torch::Tensor positions = Positions(b, t);
  const torch::Tensor want_loss = whole->loss_sum(whole->forward(tokens, positions), labels);
  want_loss.backward();

  // Forward: the first stage embeds, a later one receives the previous stage's output (same tp rank).
  torch::Tensor input;
  if (range.has_embedding) {
    input = mine->embed(tokens);
  } else {
    input = torch::empty({b, t, spec.hidden});
    w.Recv(input, w.rank() - tp_size);
    input.set_requires_grad(true);
  }
  const torch::Tensor output = mine->forward_hidden(input, positions);
  if (range.has_head) {
    const torch::Tensor loss = mine->loss_sum(output, labels);
    EXPECT_NEAR(loss.item<double>(), want_loss.item<double>(), 1e-5 * std::abs(want_loss.item<double>()));
    loss.backward();
  } else {
    w.Send(output.detach(), w.rank() + tp_size);
    torch::Tensor grad = torch::empty_like(output);
    w.Recv(grad, w.rank() + tp_size);
    output.backward(grad);
  }
  if (!range.has_embedding) w.Send(input.grad(), w.rank() - tp_size);

  // Gradients: after the tp partial sums, each is this rank's slice of one process's.
  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (const auto& p : mine->named_parameters()) trainable.emplace_back(p.key(), p.value());
  const auto infos = ParamInfos(*mine);
  if (tp.size > 1) AllReducePartialGradients(GroupByTpSplit(trainable, infos), *tp_comm);
  auto want = whole->named_parameters();
  int64_t decay_params = 0;
  for (const auto& [name, param] : trainable) {
    ASSERT_NE(want.find(name), nullptr) << name;
    ASSERT_TRUE(param.grad().defined()) << name;
    const torch::Tensor expected = TpShard(want[name].grad(), infos.at(name).split_dim, tp);
    EXPECT_TRUE(torch::allclose(param.grad(), expected, 1e-4, 1e-6))
        << name << " (tp " << tp_size << ", pp " << pp_size << "): off by " << (param.grad() - expected).abs().max();
    if (name.find(".decay_mix.") != std::string::npos) ++decay_params;
  }
  EXPECT_EQ(decay_params, 3 * (per_stage / 2));  // each stage holds a decay layer: in, out, decay
  w.Barrier();
}

TEST(TokenMixer, TensorParallelEqualsOneProcess) {
  if (World().size() != 2) GTEST_SKIP() << "a two-rank layout (tp = 2); this run has " << World().size();
  ExpectLayoutMatchesOneProcess(/*tp_size=*/2, /*pp_size=*/1);
}

TEST(TokenMixer, PipelineParallelEqualsOneProcess) {
  if (World().size() != 2) GTEST_SKIP() << "a two-rank layout (pp = 2); this run has " << World().size();
  ExpectLayoutMatchesOneProcess(/*tp_size=*/1, /*pp_size=*/2);
}

TEST(TokenMixer, TensorAndPipelineParallelEqualOneProcess) {
  if (World().size() != 4) GTEST_SKIP() << "a four-rank layout (tp = 2 x pp = 2); this run has " << World().size();
  ExpectLayoutMatchesOneProcess(/*tp_size=*/2, /*pp_size=*/2);
}

}  // namespace
}  // namespace zen
