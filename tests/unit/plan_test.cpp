// The planner (trainer/plan.h): its memory for a tiny config equals the hand computation, its per-rank
// parameter counts equal what a rank of that layout instantiates, ZeRO-1 shards the optimizer state, the
// 1F1B in-flight count is the schedule's own, and the layouts it offers and calls fitting are right.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "parallel/pipeline_schedule.h"
#include "tests/unit/model_test_util.h"
#include "trainer/plan.h"

namespace zen {
namespace {

const double kGiB = double(int64_t{1} << 30);

Recipe LoadShipped(const std::string& model, const std::vector<std::string>& overrides = {}) {
  auto loaded = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-" + model + "-lora.yaml", overrides);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded->recipe;
}

// TinySpec (2 layers, hidden 32, 4 heads of 8, 2 KV heads, ffn 48, vocab 64, tied) with LoRA rank 4 on
// q and v, sequences of 16, micro-batch 2, global batch 4, fp32.
Recipe TinyRecipe() {
  Recipe r;
  r.model = testing::TinySpec();
  r.lora = testing::TinyLora({"q", "v"}, /*rank=*/4);
  r.train.seq_len = 16;
  r.train.micro_batch_size = 2;
  r.train.global_batch_size = 4;
  return r;
}

ClusterSpec Cluster(int64_t nodes, int64_t gpus, double gib) {
  ClusterSpec c;
  c.nodes = nodes;
  c.gpus_per_node = gpus;
  c.gpu_memory_bytes = gib * kGiB;
  return c;
}

TEST(PlanMemory, TinyConfigEqualsTheHandComputation) {
  // Per layer: q 32x32 + k 32x16 + v 32x16 + o 32x32 = 3072, MLP 3 x 32 x 48 = 4608, norms 2x8 + 2x32 = 80:
  // 7760; two layers 15520, + embedding 64 x 32 = 2048 (tied head) + final norm 32 = 17600.
  // LoRA per layer: q 4 x (32 + 32) = 256, v 4 x (32 + 16) = 192; two layers: 896.
  const Recipe r = TinyRecipe();
  const MemoryOptions none;
  const RankMemory m = StageMemory(r, none, Layout{}, /*stage=*/0, /*micro=*/2);
  EXPECT_EQ(m.weights, (17600 + 896) * 4.0);
  EXPECT_EQ(m.autocast_copies, 0.0);  // fp32
  EXPECT_EQ(m.gradients, 896 * 4.0);
  EXPECT_EQ(m.optimizer, 896 * 8.0);
  // LoRA, per token and layer: 2 x 32 (hidden) + 4 x (32 + 16 + 16) (q, k, v) + 4 x 48 (MLP) = 512 fp32
  // values; x 32 tokens x 4 bytes; + the (2, 1, 16, 16) fp32 mask SDPA saves per layer (2048 bytes);
  // two layers, + the boolean mask (512 bytes) once; 1 micro-batch in flight (1F1B, one stage).
  EXPECT_EQ(m.activations, 2 * (512 * 32 * 4.0 + 2048) + 512);
  EXPECT_EQ(m.logits, 5 * 32 * 64 * 4.0);  // five fp32 (tokens, V) tensors at the loss's peak
  EXPECT_EQ(m.buffers, 0.0);               // dp = 1: no gradient bucket
}

TEST(PlanMemory, TensorParallelSplitsTheShardedActivationTerms) {
  const Recipe r = TinyRecipe();
  MemoryOptions o;
  // tp = 2: q, k, v and the MLP halve, the hidden term stays: 64 + 128 + 96 = 288 values per token.
  EXPECT_EQ(ActivationBytesPerLayer(r, o, 0, /*tp=*/2), 288 * 32 * 4.0 + 2048);
  // Sequence parallelism splits the hidden term too.
  o.sequence_parallel = true;
  EXPECT_EQ(ActivationBytesPerLayer(r, o, 0, 2), 256 * 32 * 4.0 + 2048);
}

TEST(PlanMemory, RecomputeKeepsLessAndChunkedLossBoundsTheLogits) {
  const Recipe r = TinyRecipe();
  MemoryOptions o;
  const RankMemory none = StageMemory(r, o, Layout{}, 0, 1);
  // The layer a backward rebuilds comes after the loss's backward has freed the logits (5 fp32 copies of
  // (32 tokens, 64 vocab) = 40960 bytes): it adds only what it exceeds them.
  const double logits = 5 * 32 * 64 * 4.0;
  EXPECT_EQ(none.logits, logits);
  // Selective drops each layer's attention core, the fp32 mask (2 x 16 x 16) and output (2 x 16 x 32):
  // 6144 bytes; rebuilding one layer's (6144) stays under the freed logits.
  o.recompute = "selective";
  const RankMemory selective = StageMemory(r, o, Layout{}, 0, 1);
  EXPECT_EQ(selective.activations, none.activations - 2 * 6144.0);
  o.recompute = "full";  // each layer's (2, 16, 32) fp32 input, plus one whole layer rebuilt beyond the logits
  const double layer = 512 * 32 * 4.0 + 2048;
  const RankMemory full = StageMemory(r, o, Layout{}, 0, 1);
  EXPECT_EQ(full.activations, 2 * 32 * 32 * 4.0 + 512 + (layer - logits));
  o.recompute_layers = 1;  // only the first layer recomputed
  EXPECT_EQ(StageMemory(r, o, Layout{}, 0, 1).activations, 32 * 32 * 4.0 + layer + 512 + (layer - logits));
  o = MemoryOptions{};
  o.loss_chunk_tokens = 8;
  EXPECT_EQ(StageMemory(r, o, Layout{}, 0, 1).logits, 5 * 8 * 64 * 4.0);
}

TEST(PlanMemory, ZeroOneDividesOptimizerStateByDp) {
  Recipe r = TinyRecipe();
  Layout l;
  l.dp = 4;
  const RankMemory plain = StageMemory(r, MemoryOptions{}, l, 0, 1);
  r.parallel.zero = 1;
  const RankMemory zero = StageMemory(r, MemoryOptions{}, l, 0, 1);
  EXPECT_EQ(zero.optimizer, plain.optimizer / 4);
  EXPECT_EQ(zero.gradients, plain.gradients);
  EXPECT_EQ(zero.weights, plain.weights);
  EXPECT_EQ(zero.buffers, 0.0);  // the bucket (every gradient, under 32 MiB) is smaller than the activations
}

TEST(PlanMemory, FullFineTuningKeepsGradientsAndStateForEveryWeight) {
  Recipe r = TinyRecipe();
  r.lora.enabled = false;
  const RankMemory m = StageMemory(r, MemoryOptions{}, Layout{}, 0, 1);
  EXPECT_EQ(m.weights, 17600 * 4.0);
  EXPECT_EQ(m.gradients, 17600 * 4.0);
  EXPECT_EQ(m.optimizer, 17600 * 8.0);
}

TEST(PlanMemory, Bf16ParametersHalveWeightsAndKeepFp32MastersOfTheTrainable) {
  Recipe r = TinyRecipe();
  r.lora.enabled = false;
  MemoryOptions o;
  o.bf16_params = true;
  const RankMemory m = StageMemory(r, o, Layout{}, 0, 1);
  EXPECT_EQ(m.weights, 17600 * 2.0);
  EXPECT_EQ(m.gradients, 17600 * 2.0);
  EXPECT_EQ(m.optimizer, 17600 * 12.0);  // two moments and a master, fp32
  EXPECT_EQ(m.autocast_copies, 0.0);     // the weights already are bf16
}

TEST(PlanMemory, Bf16KeepsFp32WeightsPlusOneBf16CopyPerMicroBatchInFlight) {
  Recipe r = TinyRecipe();
  r.train.dtype = "bf16";
  r.parallel.schedule = "gpipe";
  const RankMemory m = StageMemory(r, MemoryOptions{}, Layout{}, 0, /*micro=*/2);
  EXPECT_EQ(m.weights, (17600 + 896) * 4.0);
  // The linears (2 x 7680) and the tied head (2048), 2 bytes each, for both micro-batches GPipe holds.
  EXPECT_EQ(m.autocast_copies, (2 * 7680 + 2048) * 2.0 * 2);
  // 16-bit values: 512 x 32 x 2 + the bf16 mask 1024, per layer; 2 layers x 2 micro-batches.
  EXPECT_EQ(m.activations, 2 * (2 * (512 * 32 * 2.0 + 1024) + 512));
}

// Parameters (all, trainable) a rank of the layout instantiates, LoRA applied as the trainer does.
std::pair<double, double> Instantiated(const ModelSpec& spec, const LoraSpec& lora, const Layout& l,
                                       const StageRange& stage, int64_t tp_rank, int64_t ep_rank) {
  torch::manual_seed(0);
  Qwen3 model(spec, TpGroup{nullptr, tp_rank, l.tp}, stage, MoeSpec{}, EpGroup{nullptr, ep_rank, l.ep});
  auto trainable = ApplyLora(*model, lora, /*whole_model=*/false);
  EXPECT_TRUE(trainable.ok()) << trainable.status();
  double all = 0;
  for (const auto& p : model->parameters()) all += p.numel();
  return {all, double(*trainable)};
}

TEST(PlanParams, EachRankHoldsWhatItsLayoutInstantiates) {
  ModelSpec moe = testing::TinySpec(/*tied=*/false);
  moe.experts = 4;
  moe.top_k = 2;
  moe.expert_ffn = 16;
  moe.shared_ffn = 24;
  struct Case {
    ModelSpec spec;
    std::vector<std::string> targets;
    Layout layout;  // tp, pp, dp, ep
    StageRange stage;
  };
  const std::vector<Case> cases = {
      {testing::TinySpec(), {"q", "v", "o", "gate", "up", "down"}, {2, 1, 1, 1}, {0, 2, true, true}},
      {testing::TinySpec(), {"q", "k", "down"}, {1, 2, 1, 1}, {0, 1, true, false}},
      {testing::TinySpec(), {"q", "k", "down"}, {2, 2, 1, 1}, {1, 2, false, true}},  // tied copy on the last stage
      {testing::TinySpec(false), {"o", "up"}, {2, 2, 1, 1}, {1, 2, false, true}},
      {moe, {"router", "experts.*.wi", "experts.*.wo", "shared", "q"}, {2, 1, 2, 2}, {0, 2, true, true}},
      {moe, {"experts.*.mlp"}, {1, 2, 4, 4}, {1, 2, false, true}},
  };
  for (const Case& c : cases) {
    const LoraSpec lora = testing::TinyLora(c.targets, /*rank=*/3);
    const StageParams planned = CountStageParams(c.spec, lora, c.layout, c.stage);
    for (int64_t rank = 0; rank < c.layout.tp; ++rank) {
      const auto [all, trainable] = Instantiated(c.spec, lora, c.layout, c.stage, rank, c.layout.ep - 1);
      EXPECT_EQ(planned.weights, all) << "tp " << c.layout.tp << " pp " << c.layout.pp << " ep " << c.layout.ep;
      EXPECT_EQ(planned.trainable, trainable) << "tp " << c.layout.tp << " ep " << c.layout.ep;
    }
  }
}

TEST(PlanParams, TwoStagesOfTheShippedDecodersHoldCountParams) {
  // Split in two, so nothing lands on stage 0 as "beyond the decoder's tables": the per-layer tables alone
  // must add up to models/param_count's figures (plus the tied table's copy on the last stage).
  for (const char* model : {"nano", "eco", "coder", "next"}) {
    const Recipe r = LoadShipped(model);
    Layout l;
    l.pp = 2;
    const int64_t half = r.model.layers / 2;
    const StageParams first = CountStageParams(r.model, r.lora, l, {0, half, true, false});
    const StageParams last = CountStageParams(r.model, r.lora, l, {half, r.model.layers, false, true});
    const ParamCounts counts = CountParams(r.model);
    const double lora = CountLoraParams(r.model, r.lora), copy = r.model.tie_embeddings ? counts.embedding : 0;
    EXPECT_DOUBLE_EQ(first.weights + last.weights, counts.total + lora + copy) << model;
    EXPECT_DOUBLE_EQ(first.trainable + last.trainable, lora) << model;
  }
}

TEST(PlanSchedule, InFlightMicroBatchesAreThePipelineScheduleOrdersPeak) {
  for (const char* name : {"1f1b", "gpipe"}) {
    const ScheduleKind kind = ParseSchedule(name).value();
    for (int64_t stages : {1, 2, 4}) {
      for (int64_t micro : {1, 3, 4, 8}) {
        for (int64_t stage = 0; stage < stages; ++stage) {
          int64_t held = 0, peak = 0;
          for (const PipelineAction& a : ScheduleOrder(kind, stages, stage, micro)) {
            held += a.op == PipelineAction::kForward ? 1 : -1;
            peak = std::max(peak, held);
          }
          EXPECT_EQ(InFlightMicroBatches(name, stages, stage, micro), peak) << name << " " << stages << " " << micro;
        }
      }
    }
  }
}

TEST(PlanLayouts, NeverOffersATensorDegreeTheShapesOrTheNodeDoNotAllow) {
  // Zen-Nano has 16 heads; 12 GPUs per node leave tp in {1, 2, 4} (3, 6 and 12 are never candidates).
  const Plan nano = MakePlan(LoadShipped("nano"), Cluster(2, 12, 80));
  ASSERT_FALSE(nano.layouts.empty());
  for (const LayoutPlan& l : nano.layouts) {
    EXPECT_TRUE(l.layout.tp == 1 || l.layout.tp == 2 || l.layout.tp == 4) << l.layout.tp;
    EXPECT_EQ(l.layout.tp * l.layout.pp * l.layout.dp, 24);
    EXPECT_EQ(24 % l.layout.pp, 0);
  }
  // Zen-Eco has 28 heads: tp = 8 is ruled out by the grid check, naming model.heads.
  const Plan eco = MakePlan(LoadShipped("eco"), Cluster(1, 8, 80));
  for (const LayoutPlan& l : eco.layouts) EXPECT_NE(l.layout.tp, 8);
  ASSERT_FALSE(eco.rejected.empty());
  EXPECT_EQ(eco.rejected.front().layout.tp, 8);
  EXPECT_NE(eco.rejected.front().reason.find("model.heads (28)"), std::string::npos) << eco.rejected.front().reason;
}

TEST(PlanLayouts, ExpertDegreesDivideTheExpertsAndTpTimesDp) {
  const Plan next = MakePlan(LoadShipped("next", {"train.global_batch_size=512"}), Cluster(4, 8, 80));
  bool some_ep = false;
  for (const LayoutPlan& l : next.layouts) {
    EXPECT_EQ(128 % l.layout.ep, 0);
    EXPECT_EQ((l.layout.tp * l.layout.dp) % l.layout.ep, 0);  // the expert group folds over tp x dp
    some_ep |= l.layout.ep > 1;
  }
  EXPECT_TRUE(some_ep);
}

TEST(PlanLayouts, ALayoutBiggerThanMemoryIsNotListedAsFitting) {
  const Recipe nano = LoadShipped("nano");
  const Plan plan = MakePlan(nano, Cluster(1, 8, 24));
  for (const LayoutPlan& l : plan.layouts) EXPECT_EQ(l.fits, l.memory.Total() <= 0.9 * 24 * kGiB);
  // 1 GiB holds not even the fp32 weights (464M x 4 bytes = 1.7 GiB) of a tp = 1 rank.
  const Plan tiny_gpu = MakePlan(nano, Cluster(1, 1, 1));
  ASSERT_EQ(tiny_gpu.layouts.size(), 1u);
  EXPECT_FALSE(tiny_gpu.layouts[0].fits);
  EXPECT_EQ(tiny_gpu.Best(), nullptr);
}

TEST(PlanLayouts, BestHasTheFewestModelParallelRanksThenTheMostDp) {
  const Plan plan = MakePlan(LoadShipped("nano"), Cluster(1, 8, 80));
  const LayoutPlan* best = plan.Best();
  ASSERT_NE(best, nullptr);
  for (const LayoutPlan& l : plan.layouts) {
    if (!l.fits || !l.batch_issue.empty()) continue;
    EXPECT_LE(best->ModelParallel(), l.ModelParallel());
    if (best->ModelParallel() == l.ModelParallel()) EXPECT_GE(best->layout.dp, l.layout.dp);
  }
}

TEST(PlanLayouts, AGlobalBatchTheLayoutCannotSplitIsReported) {
  // Zen-Next's recipe: global batch 2 of micro-batch 1, so only dp <= 2 runs as is.
  const Plan plan = MakePlan(LoadShipped("next"), Cluster(1, 8, 80));
  for (const LayoutPlan& l : plan.layouts) {
    EXPECT_EQ(l.batch_issue.empty(), l.layout.dp <= 2 && (l.layout.pp == 1 || 2 / l.layout.dp >= l.layout.pp))
        << l.layout.tp << " " << l.layout.pp << " " << l.layout.dp << ": " << l.batch_issue;
  }
}

TEST(PlanTime, WallTimeIsTokensTimesFlopsOverTheClustersRate) {
  const Recipe r = LoadShipped("nano");
  const ClusterSpec c = Cluster(1, 8, 80);
  const Plan plan = MakePlan(r, c);
  const double n = CountParams(r.model).active;  // tied: the table counts once, as the head
  const double lora = CountLoraParams(r.model, r.lora);  // dense: every adapter is active
  const double attention = 12.0 * 24 * 16 * 64 * 2048;
  EXPECT_DOUBLE_EQ(plan.flops_per_token, 4 * n + 6 * lora + attention);
  EXPECT_EQ(plan.total_steps, 762940);  // ceil(100e9 / (64 x 2048))
  EXPECT_DOUBLE_EQ(plan.seconds, 762940.0 * 64 * 2048 * plan.flops_per_token / (8 * 989e12 * 0.4));
  const Plan full = MakePlan(LoadShipped("nano", {"~lora"}), c);
  EXPECT_DOUBLE_EQ(full.flops_per_token, 6 * n + attention);
}

TEST(PlanMemorySize, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(ParseMemorySize("80GiB").value(), 80.0 * (int64_t{1} << 30));
  EXPECT_EQ(ParseMemorySize("80GB").value(), 80e9);
  EXPECT_EQ(ParseMemorySize("1.5TiB").value(), 1.5 * (int64_t{1} << 40));
  EXPECT_EQ(ParseMemorySize("512 mib").value(), 512.0 * (1 << 20));
  EXPECT_EQ(ParseMemorySize("2TB").value(), 2e12);
  for (const char* bad : {"80", "GiB", "-1GiB", "0GB", "80GBs", "eighty GiB", "80KiB", "nanGiB", ""}) {
    EXPECT_FALSE(ParseMemorySize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace zen
