// train.param_dtype=bf16 (parallel/param_storage.h): frozen weights exist only in bf16 — in the model, the
// optimizer and the gradients, loaded from a Hugging Face folder included — trainable ones keep an fp32
// master in AdamW, norms declared fp32 stay fp32 while they train, and the initial values are today's
// fp32 draws, rounded.
#include "parallel/param_storage.h"

#include <gtest/gtest.h>

#include "checkpoints/hf_checkpoint.h"  // defines: SaveHfWeights
#include "core/recipe_loader.h"         // defines: LoadRecipe
#include "data/source.h"                // defines: OpenDataSource
#include "trainer/rank_setup.h"         // defines: OpenRank, BuildModel
#include "trainer_test_util.h"          // defines: ScratchDir

namespace zen {
namespace {

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

Recipe TinyRecipe(std::vector<std::string> overrides) {
  std::vector<std::string> all = {"data.source=demo", "model.layers=2",     "model.hidden=64",  "model.heads=4",
                                  "model.kv_heads=2", "model.head_dim=16",  "model.ffn=128",    "model.vocab=512",
                                  "train.seq_len=32", "train.global_batch_size=2", "train.micro_batch_size=2",
                                  "optim.warmup_steps=0", "train.threads=1"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  auto loaded = LoadRecipe(kNano, all);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded->recipe;
}

// One process's model and optimizer for `recipe`, as `zen train` builds them.
std::unique_ptr<TrainState> Build(const Recipe& recipe) {
  auto s = std::make_unique<TrainState>(recipe);
  EXPECT_TRUE(OpenRank(*s, WorldInfo{}).ok());
  const absl::Status built = BuildModel(*s);
  EXPECT_TRUE(built.ok()) << built;
  return s;
}

class TwoParams : public ParamModule {
 public:
  TwoParams() {
    ParamInfo gain;
    gain.storage_dtype = torch::kFloat32;
    g = RegisterParameter("g", torch::ones({4}), gain);
    w = RegisterParameter("w", torch::randn({4, 4}), ParamInfo{});
  }
  torch::Tensor g, w;
};

TEST(ParamStorage, TrainableParameterKeepsItsDeclaredDtypeFrozenOneTakesBf16) {
  TwoParams m;
  const torch::Tensor w_before = m.w.detach().clone();
  ApplyParamStorage(m, torch::kBFloat16);
  EXPECT_EQ(m.g.scalar_type(), torch::kFloat32);  // trainable, declared fp32
  EXPECT_EQ(m.w.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(m.named_parameters()["w"].is_same(m.w)) << "the module's member must see the new storage";
  EXPECT_TRUE(torch::equal(m.w, w_before.to(torch::kBFloat16)));
  m.g.set_requires_grad(false);
  ApplyParamStorage(m, torch::kBFloat16);
  EXPECT_EQ(m.g.scalar_type(), torch::kBFloat16) << "a frozen parameter never keeps fp32";
}

TEST(ParamStorage, Bf16LoraHoldsNoFrozenParameterInFp32AnywhereLoadedFromHfIncluded) {
  testing::ScratchDir dir("param_storage_lora");
  // The base, written in fp32 from a model with randomised norms, so the load path's casts are visible.
  const Recipe base_recipe = TinyRecipe({"~lora"});
  Qwen3 base(base_recipe.model, TpGroup{});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : base->parameters()) p.uniform_(-0.5, 1.5);
  }
  ASSERT_TRUE(SaveHfWeights(dir.path(), *base).ok());

  const Recipe recipe = TinyRecipe({"train.param_dtype=bf16", "model.checkpoint=" + dir.path()});
  auto s = Build(recipe);
  const auto base_params = base->named_parameters();
  int64_t frozen = 0;
  for (const auto& p : s->model->named_parameters()) {
    EXPECT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
    if (p.value().requires_grad()) continue;
    ++frozen;
    EXPECT_TRUE(torch::equal(p.value(), base_params[p.key()].to(torch::kBFloat16))) << p.key() << ": not the base's values";
  }
  EXPECT_GT(frozen, 0);
  // The optimizer holds state (and an fp32 master) only for the adapters.
  int64_t masters = 0;
  for (const auto& [name, t] : s->optimizer->StateTensors()) {
    EXPECT_NE(name.find("lora_"), std::string::npos) << name << ": optimizer state for a frozen parameter";
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".master") == 0) {
      ++masters;
      EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
    }
  }
  EXPECT_EQ(masters, static_cast<int64_t>(s->trainable.size()));

  // A step: frozen parameters get no gradient at all; the adapters' are bf16 and the loss is finite.
  auto data = OpenDataSource(recipe);
  ASSERT_TRUE(data.ok()) << data.status();
  s->data = std::move(*data);
  s->total_steps = 1;
  const StepResult out = RunStep(*s, 0, 1e-3);
  EXPECT_TRUE(out.finite);
  for (const auto& p : s->model->named_parameters()) {
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
    if (!p.value().requires_grad()) EXPECT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
  }
}

TEST(ParamStorage, Bf16FullFineTuningRoundsTodaysInitialValuesAndKeepsNormsInFp32) {
  auto fp32 = Build(TinyRecipe({"~lora"}));
  auto bf16 = Build(TinyRecipe({"~lora", "train.param_dtype=bf16"}));
  const auto reference = fp32->model->named_parameters();
  const auto infos = ParamInfos(*bf16->model);
  for (const auto& p : bf16->model->named_parameters()) {
    const bool norm = infos.at(p.key()).storage_dtype.has_value();
    EXPECT_EQ(p.value().scalar_type(), norm ? torch::kFloat32 : torch::kBFloat16) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), reference[p.key()].to(p.value().scalar_type()))) << p.key();
  }
  int64_t masters = 0;
  for (const auto& [name, t] : bf16->optimizer->StateTensors()) masters += name.find(".master") != std::string::npos;
  int64_t bf16_trainable = 0;
  for (const auto& [name, p] : bf16->trainable) bf16_trainable += p.scalar_type() == torch::kBFloat16;
  EXPECT_EQ(masters, bf16_trainable);
  EXPECT_GT(bf16_trainable, 0);
}

}  // namespace
}  // namespace zen
