// The oracle: a tiny random Qwen3ForCausalLM built by Hugging Face transformers (and peft for LoRA),
// loaded into zen from its safetensors, must give the same logits and loss.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoints/hf_checkpoint.h"
#include "checkpoints/safetensors.h"
#include "core/status.h"
#include "models/lora.h"
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

constexpr double kTolerance = 1e-4;

// Runs tests/oracle/make_tiny_qwen3.py into `dir`; the test fails (with the script's output) if it does.
void MakeTinyQwen3(const ScratchDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), dir.path());
  const std::string script =
      testing::ReadText(std::string(ZEN_SOURCE_DIR) + "/tests/oracle/make_tiny_qwen3.py");
  const auto run = testing::RunPython(dir.path(), script, args);
  ASSERT_EQ(run.exit_code, 0) << "make_tiny_qwen3.py failed:\n" << run.output;
}

struct Errors {
  double logits = 1, loss = 1;
};

// Compares zen's logits and mean next-token loss on the fixture's input_ids with transformers'.
Errors CompareWithFixture(Qwen3& model, const std::string& fixture_path) {
  auto fixture = ReadSafetensors(fixture_path);
  EXPECT_TRUE(fixture.ok()) << fixture.status();
  if (!fixture.ok()) return {};
  const torch::Tensor ids = fixture->at("input_ids");
  torch::NoGradGuard no_grad;
  model->eval();
  auto hidden = model->forward(ids, Positions(ids.size(0), ids.size(1)));
  auto labels = ShiftedLabels(ids);
  auto loss = model->loss_sum(hidden, labels) / labels.ne(kIgnoreLabel).sum();
  return {MaxRelativeError(model->logits(hidden), fixture->at("logits")),
          MaxRelativeError(loss, fixture->at("loss"))};
}

struct OracleCase {
  std::string name;
  std::vector<std::string> args;
};

class HfOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(HfOracle, LogitsAndLossMatchTransformers) {
  ScratchDir dir("hf_oracle_" + GetParam().name);
  ASSERT_NO_FATAL_FAILURE(MakeTinyQwen3(dir, GetParam().args));
  const ModelSpec spec = SpecFromHfConfig(dir / "model/config.json");
  torch::manual_seed(0);
  Qwen3 model(spec);
  const absl::Status loaded = LoadHfWeights(dir / "model", *model, TpGroup{});
  ASSERT_TRUE(loaded.ok()) << loaded;
  const Errors errors = CompareWithFixture(model, dir / "fixture.safetensors");
  std::cout << "[ oracle   ] " << GetParam().name << ": logits max rel error " << errors.logits
            << ", loss rel error " << errors.loss << "\n";
  EXPECT_LE(errors.logits, kTolerance);
  EXPECT_LE(errors.loss, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Qwen3, HfOracle,
                         ::testing::Values(OracleCase{"TiedMha", {"--kv-heads", "4", "--tie", "1"}},
                                           OracleCase{"TiedGqa2", {"--kv-heads", "2", "--tie", "1"}},
                                           OracleCase{"TiedGqa4", {"--kv-heads", "1", "--tie", "1"}},
                                           OracleCase{"UntiedMha", {"--kv-heads", "4", "--tie", "0"}},
                                           OracleCase{"UntiedGqa2", {"--kv-heads", "2", "--tie", "0"}},
                                           OracleCase{"UntiedGqa4", {"--kv-heads", "1", "--tie", "0"}},
                                           OracleCase{"SlidingWindowOnLayer1",
                                                      {"--kv-heads", "2", "--sliding-window", "4",
                                                       "--max-window-layers", "1"}}),
                         [](const auto& info) { return info.param.name; });

// PEFT's adapter file names "base_model.model.<module>.lora_A.weight"; zen's are "<module>.lora_A".
absl::Status LoadPeftAdapter(const std::string& path, torch::nn::Module& model) {
  ZEN_ASSIGN_OR_RETURN(auto tensors, ReadSafetensors(path));
  const std::string prefix = "base_model.model.", suffix = ".weight";
  auto params = model.named_parameters();
  size_t copied = 0;
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : tensors) {
    const std::string ours = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    torch::Tensor* param = params.find(ours);
    if (param == nullptr) return absl::NotFoundError("zen has no parameter " + ours);
    param->copy_(tensor);
    ++copied;
  }
  int64_t adapters = 0;
  for (const auto& p : params) adapters += p.key().find(".lora_") != std::string::npos;
  if (static_cast<int64_t>(copied) != adapters)
    return absl::InternalError("some adapters were not in the file");
  return absl::OkStatus();
}

TEST(HfOracle, LoraAdapterLogitsMatchPeftBeforeAndAfterMerging) {
  ScratchDir dir("hf_oracle_lora");
  ASSERT_NO_FATAL_FAILURE(
      MakeTinyQwen3(dir, {"--kv-heads", "2", "--tie", "0", "--lora-rank", "4", "--lora-alpha", "8",
                          "--lora-targets", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"}));
  const ModelSpec spec = SpecFromHfConfig(dir / "model/config.json");
  torch::manual_seed(0);
  Qwen3 model(spec);
  ASSERT_TRUE(LoadHfWeights(dir / "model", *model, TpGroup{}).ok());
  LoraSpec lora;
  lora.enabled = true;
  lora.rank = 4;
  lora.alpha = 8;
  lora.targets = {"q", "k", "v", "o", "gate", "up", "down"};
  ASSERT_TRUE(ApplyLora(*model, lora).ok());
  const absl::Status adapter = LoadPeftAdapter(dir / "adapter/adapter_model.safetensors", *model);
  ASSERT_TRUE(adapter.ok()) << adapter;

  const Errors adapted = CompareWithFixture(model, dir / "fixture.safetensors");
  MergeLora(*model);
  const Errors merged = CompareWithFixture(model, dir / "fixture.safetensors");
  std::cout << "[ oracle   ] LoRA: logits max rel error " << adapted.logits << " (merged " << merged.logits
            << "), loss rel error " << adapted.loss << " (merged " << merged.loss << ")\n";
  EXPECT_LE(adapted.logits, kTolerance);
  EXPECT_LE(adapted.loss, kTolerance);
  EXPECT_LE(merged.logits, kTolerance);
  EXPECT_LE(merged.loss, kTolerance);
}

}  // namespace
}  // namespace zen
