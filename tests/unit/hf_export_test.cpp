// The export oracle: a tiny zen model with non-zero LoRA adapters, exported as a merged Hugging Face folder
// and as a PEFT adapter on its unmerged base, must give zen's own logits in transformers and peft
// (tests/oracle/export_logits.py); a tiny MoE (with a router temperature, adapters on the router and every
// expert) the same in Qwen3MoeForCausalLM, merged and as a PEFT adapter.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "checkpoints/hf_export.h"
#include "checkpoints/safetensors.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText

namespace zen {
namespace {

using testing::Positions;
using testing::ScratchDir;
using testing::TinyLora;

// Weights larger than zen's init and non-trivial norms, so every term moves the logits; a decided router
// (ties in top-k would make the comparison ambiguous) and adapters far from B = 0.
void Randomize(Qwen3& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    const std::string& name = p.key();
    if (absl::EndsWith(name, "norm.weight")) {
      p.value().copy_(1.0 + 0.2 * torch::randn_like(p.value()));
    } else if (absl::EndsWith(name, "mlp.gate.weight")) {
      p.value().normal_(0.0, 0.5);
    } else {
      p.value().normal_(0.0, absl::EndsWith(name, "lora_B") ? 0.1 : 0.15);
    }
  }
}

// A tiny MoE: 4 experts of width 16, top 2, every `moe_every`-th layer.
ModelSpec TinyMoeSpec(bool tied, int64_t moe_every = 1) {
  ModelSpec spec = testing::TinySpec(tied, /*kv_heads=*/2);
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 16;
  spec.moe_every = moe_every;
  return spec;
}

// The whole model of `spec` with `lora` attached and every weight, adapters included, randomized.
Qwen3 AdaptedModel(const ModelSpec& spec, const LoraSpec& lora, uint64_t seed) {
  torch::manual_seed(seed);
  Qwen3 model(spec, TpGroup{}, StageRange::Whole(spec), MoeSpec{});
  EXPECT_TRUE(ApplyLora(*model, lora).ok());
  Randomize(model);
  return model;
}

// Writes dir/fixture.safetensors: input_ids (2, 12) and zen's logits for them, adapters unmerged.
void WriteFixture(Qwen3& model, const ScratchDir& dir) {
  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Tensor ids = torch::randint(model->spec().vocab, {2, 12}, torch::kLong);
  const torch::Tensor logits = model->logits(model->forward(ids, Positions(2, 12)));
  ASSERT_TRUE(WriteSafetensors(dir / "fixture.safetensors", {{"input_ids", ids}, {"logits", logits}}).ok());
}

// Runs export_logits.py on the exports; fails with its output when any logits differ by more than 1e-4.
void ExpectTransformersLogits(const ScratchDir& dir, const std::vector<std::string>& exports) {
  std::vector<std::string> args = {dir / "fixture.safetensors"};
  for (const auto& e : exports) args.push_back(dir / e);
  const std::string script = testing::ReadText(std::string(ZEN_SOURCE_DIR) + "/tests/oracle/export_logits.py");
  const auto run = testing::RunPython(dir.path(), script, args);
  for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
    if (absl::StrContains(line, "logits")) std::cout << "[ oracle   ] " << line << "\n";
  }
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST(HfExport, MergedAndPeftExportsGiveZensLogitsInTransformers) {
  ScratchDir dir("hf_export_dense");
  ModelSpec spec = testing::TinySpec(/*tied=*/false, /*kv_heads=*/2);
  spec.sliding_window = 4;  // on layer 1 only: config.json must say which layers
  spec.sliding_layers = {1};
  const LoraSpec lora = TinyLora({"q", "k", "v", "o", "gate", "up", "down"});
  Qwen3 model = AdaptedModel(spec, lora, /*seed=*/7);
  ASSERT_NO_FATAL_FAILURE(WriteFixture(model, dir));

  const absl::Status peft = ExportPeft(dir / "peft", model, lora, dir / "base");
  ASSERT_TRUE(peft.ok()) << peft;
  ASSERT_TRUE(WriteHfFolder(dir / "base", model, MoeSpec{}).ok());
  const absl::Status hf = ExportHf(dir / "hf", model, MoeSpec{});
  ASSERT_TRUE(hf.ok()) << hf;
  ExpectTransformersLogits(dir, {"hf", "peft"});
}

TEST(HfExport, MoeMergedAndPeftExportsGiveZensLogitsInQwen3Moe) {
  ScratchDir dir("hf_export_moe");
  ModelSpec spec = TinyMoeSpec(/*tied=*/true, /*moe_every=*/2);  // layer 0 dense, layer 1 MoE
  spec.router_temperature = 0.7;
  const LoraSpec lora = TinyLora({"q", "v", "gate", "router", "experts.*.mlp"});
  Qwen3 model = AdaptedModel(spec, lora, /*seed=*/11);
  ASSERT_NO_FATAL_FAILURE(WriteFixture(model, dir));

  // The merged model, then the adapters (router and fused experts through peft's target_parameters, the
  // dense layer's gate through its weight) on the unmerged base. Both fold the temperature in, so each
  // export starts from its own copy of the model.
  Qwen3 merged = AdaptedModel(spec, lora, /*seed=*/11);
  const absl::Status hf = ExportHf(dir / "hf", merged, MoeSpec{});
  ASSERT_TRUE(hf.ok()) << hf;
  const absl::Status peft = ExportPeft(dir / "peft", model, lora, dir / "base");
  ASSERT_TRUE(peft.ok()) << peft;
  ASSERT_TRUE(WriteHfFolder(dir / "base", model, MoeSpec{}).ok());
  ExpectTransformersLogits(dir, {"hf", "peft"});
}

TEST(HfExport, MoeAttentionAdaptersExportToPeft) {
  ScratchDir dir("hf_export_moe_peft");
  const LoraSpec lora = TinyLora({"q", "k", "v", "o"});
  Qwen3 model = AdaptedModel(TinyMoeSpec(/*tied=*/false), lora, /*seed=*/13);
  ASSERT_NO_FATAL_FAILURE(WriteFixture(model, dir));
  const absl::Status peft = ExportPeft(dir / "peft", model, lora, dir / "base");
  ASSERT_TRUE(peft.ok()) << peft;
  ASSERT_TRUE(WriteHfFolder(dir / "base", model, MoeSpec{}).ok());
  ExpectTransformersLogits(dir, {"peft"});
}

TEST(HfExport, SharedExpertIsRefusedNamingTheKey) {
  ModelSpec spec = TinyMoeSpec(/*tied=*/true);
  spec.shared_ffn = 16;
  const auto config = HfConfig(spec, MoeSpec{});
  ASSERT_TRUE(IsBadInput(config.status())) << config.status();
  EXPECT_TRUE(absl::StrContains(config.status().message(), "model.shared_ffn"));
}

}  // namespace
}  // namespace zen
