// The whole-model oracle for Qwen3-Next: a tiny random Qwen3NextForCausalLM built by transformers
// (tests/oracle/make_tiny_qwen3_next.py: Gated DeltaNet and gated attention layers, partial RoPE, randomised
// zero-centred norms, gated norm, router, shared-expert gate, A_log, dt_bias and conv), saved in the Hub's
// per-expert layout with mtp.* tensors beside, loaded by zen through the recipe (model.checkpoint: its
// config.json defines the model), gives transformers' logits and loss on rows of 70 tokens (not a multiple
// of the chunk of 64); and packed documents give what each document gives alone.
#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"  // defines: ReadSafetensors
#include "core/recipe_loader.h"       // defines: LoadRecipe
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"    // defines: MaxRelativeError, Positions, ShiftedLabels
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText
#include "trainer/recipe_model.h"          // defines: LoadRecipeModel

namespace zen {
namespace {

using testing::MaxRelativeError;
using testing::Positions;
using testing::ScratchDir;
using testing::ShiftedLabels;

const std::string kOracles = std::string(ZEN_SOURCE_DIR) + "/tests/oracle/";

// Builds the tiny model in `dir` and loads it as `zen eval` would (recipe + model.checkpoint).
Qwen3 LoadTinyQwen3Next(const ScratchDir& dir) {
  const auto made = testing::RunPython(dir.path(), testing::ReadText(kOracles + "make_tiny_qwen3_next.py"),
                                       {dir.path(), "--oracle-dir", kOracles});
  EXPECT_EQ(made.exit_code, 0) << made.output;
  auto recipe = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml",
                           {"~lora", "train.seq_len=128", "model.checkpoint=" + dir / "model", "output_dir=" + dir / "run"});
  EXPECT_TRUE(recipe.ok()) << recipe.status();
  auto loaded = LoadRecipeModel(recipe->recipe);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? loaded->model : Qwen3(nullptr);
}

TEST(Qwen3NextModelOracle, LogitsAndLossMatchTransformers) {
  ScratchDir dir("qwen3_next_oracle");
  Qwen3 model = LoadTinyQwen3Next(dir);
  ASSERT_TRUE(model);
  const ModelSpec& spec = model->spec();
  EXPECT_EQ(spec.mixers, (std::vector<std::string>{"linear_attention", "gated_attention", "linear_attention",
                                                   "gated_attention"}));
  EXPECT_TRUE(spec.zero_centred_norms && spec.shared_expert_gate);
  auto fixture = ReadSafetensors(dir / "fixture.safetensors");
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  const torch::Tensor ids = fixture->at("input_ids");
  torch::NoGradGuard no_grad;
  auto hidden = model->forward(ids, Positions(ids.size(0), ids.size(1)));
  auto labels = ShiftedLabels(ids);
  auto loss = model->loss_sum(hidden, labels) / labels.ne(kIgnoreLabel).sum();
  const double logits_error = MaxRelativeError(model->logits(hidden), fixture->at("logits"));
  const double loss_error = MaxRelativeError(loss, fixture->at("loss"));
  std::cout << "[ oracle   ] Qwen3-Next (2 x 70 tokens): logits max rel error " << logits_error << ", loss "
            << loss.item<double>() << " rel error " << loss_error << "\n";
  EXPECT_LE(logits_error, 1e-4);
  EXPECT_LE(loss_error, 1e-4);
}

TEST(Qwen3NextModelOracle, PackedDocumentsEqualEachDocumentAlone) {
  ScratchDir dir("qwen3_next_packed");
  Qwen3 model = LoadTinyQwen3Next(dir);
  ASSERT_TRUE(model);
  torch::manual_seed(3);
  // Three documents in one row; the middle one crosses the chunk boundary at 64.
  const std::vector<int64_t> lengths = {37, 45, 19};
  std::vector<torch::Tensor> docs, segments, positions;
  for (size_t d = 0; d < lengths.size(); ++d) {
    docs.push_back(torch::randint(0, model->spec().vocab, {1, lengths[d]}, torch::kLong));
    segments.push_back(torch::full({1, lengths[d]}, static_cast<int64_t>(d), torch::kLong));
    positions.push_back(Positions(1, lengths[d]));
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor packed =
      model->logits(model->forward(torch::cat(docs, 1), torch::cat(positions, 1), torch::cat(segments, 1)));
  int64_t offset = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    const torch::Tensor alone = model->logits(model->forward(docs[d], positions[d]));
    const double error = MaxRelativeError(packed.narrow(1, offset, lengths[d]), alone);
    std::cout << "[ packed   ] document " << d << " (" << lengths[d] << " tokens at " << offset
              << "): max rel error against it alone " << error << "\n";
    // fp32 sums in another order (chunks of 64 split differently) through 4 layers; a leaked state is O(0.1).
    EXPECT_LE(error, 1e-4);
    offset += lengths[d];
  }
}

}  // namespace
}  // namespace zen
