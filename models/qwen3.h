// The Qwen3 dense decoder (Hugging Face Qwen3ForCausalLM), written once from parallel/ layers.
// A Qwen3 holds one pipeline stage: a range of layers (named by their GLOBAL index), plus the embedding
// on the first stage and the final norm and head on the last. Parameter names are exactly Hugging Face's:
//   model.embed_tokens.weight, model.layers.{i}.self_attn.{q,k,v,o}_proj.weight,
//   model.layers.{i}.self_attn.{q,k}_norm.weight, model.layers.{i}.mlp.{gate,up,down}_proj.weight,
//   model.layers.{i}.{input,post_attention}_layernorm.weight, model.norm.weight,
//   lm_head.weight (absent when the head is tied to the embedding). A layer whose token mixer is not
//   attention (ModelSpec::mixers) holds it under its kind's name instead of self_attn (models/mixer_registry.h).
// Zen-Omni (spec.IsMultimodal()) adds, on the first stage, the encoders and their projectors:
//   vision_tower.vision_model.* (CLIP's names), multi_modal_projector.{norm,linear_1,linear_2}.*,
//   audio_tower.* (Whisper's encoder's names), audio_projector.*; and on its cross-modal layers
//   model.layers.{i}.cross_attn.* (models/cross_attention.h). docs/omni.md describes the architecture.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/recipe.h"          // defines: ModelSpec
#include "models/audio_encoder.h"  // defines: AudioEncoder
#include "models/encoder_blocks.h"  // defines: MediaProjector
#include "models/media.h"         // defines: MediaInputs
#include "models/moe.h"           // defines: MoeStats, EpGroup
#include "models/vision_encoder.h"  // defines: VisionEncoder
#include "models/qwen3_layer.h"   // defines: Qwen3DecoderLayer, RmsNorm, LayerInputs, LayerCache
#include "parallel/layer_runner.h"  // defines: LayerRunner
#include "parallel/layers.h"      // defines: VocabParallelEmbedding, ColumnParallelLinear
#include "parallel/model_groups.h"  // defines: ModelGroups
#include "parallel/tp_group.h"    // defines: TpGroup

namespace zen {

// The part of the model one pipeline stage holds: layers [first_layer, end_layer).
struct StageRange {
  int64_t first_layer = 0, end_layer = 0;
  bool has_embedding = true;  // takes tokens
  bool has_head = true;       // applies the final norm and owns the output head
  static StageRange Whole(const ModelSpec& spec) { return {0, spec.layers, true, true}; }
};

// OK when this implementation can build `spec`; otherwise a BadInput naming the recipe key, in the words
// of the recipe's own checks (ValidateModelShapes, core/recipe_validate.cpp: the one place they live).
absl::Status CheckSupported(const ModelSpec& spec);

// What a generation has computed so far: every held layer's state after positions [0, length) (an
// attention layer's keys and values, a recurrent mixer's state). Grown by Qwen3Impl::forward_cached; one
// cache per batch of sequences being continued.
struct KvCache {
  std::vector<LayerCache> layers;  // one per layer this stage holds
  int64_t length = 0;           // positions cached
};

class Qwen3Impl : public torch::nn::Module {
 public:
  // Parameters come from exactly one draw of torch's global generator (models/init.h: each is a slice
  // of a full tensor seeded by its name, so every (tp, stage) layout holds the same numbers).
  // Weights ~ N(0, 0.02), norms = 1. A tied head on a stage without the embedding keeps its own copy
  // of model.embed_tokens (its gradient must then be summed with the first stage's).
  // MoE layers hold the experts of this rank of `groups.ep` and take their aux-loss settings from `moe`.
  Qwen3Impl(const ModelSpec& spec, const ModelGroups& groups, StageRange stage, const MoeSpec& moe = {});
  Qwen3Impl(const ModelSpec& spec, const TpGroup& tp, StageRange stage, const MoeSpec& moe = {},
            const EpGroup& ep = {})
      : Qwen3Impl(spec, ModelGroups{tp, CpGroup{}, ep}, stage, moe) {}
  explicit Qwen3Impl(const ModelSpec& spec, const TpGroup& tp = TpGroup{})
      : Qwen3Impl(spec, tp, StageRange::Whole(spec)) {}

  // tokens, positions: (B, T) int64 -> hidden (B, T, C) (after the final norm on the last stage).
  // segments: (B, T) int64 document index of each token; when given, a token attends only to earlier
  // tokens of its own document (block-causal attention over packed rows); undefined = causal.
  // media: a multimodal model's images, video frames and audio for the placeholder runs in tokens: their
  // projected features replace those embeddings, and the cross-modal layers attend to them (per row).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                        const torch::Tensor& segments = {}, const MediaInputs& media = {});
  // For a stage without the embedding: hidden (B, T, C) from the previous stage -> (B, T, C).
  // `context`: what the cross-modal layers attend to (empty: they pass x through).
  torch::Tensor forward_hidden(const torch::Tensor& hidden, const torch::Tensor& positions,
                               const torch::Tensor& segments = {}, const MediaContext& context = {});
  // tokens (B, T) -> embeddings (B, T, C) with every placeholder run replaced by its media's projected
  // features (first stage). Checks that each kind's placeholder count matches its media.
  torch::Tensor embed(const torch::Tensor& tokens, const MediaInputs& media = {});
  // Generation (a whole model, under NoGradGuard): tokens (B, T) at positions [cache.length,
  // cache.length + T), attending to the cached positions and to each other causally -> logits
  // (B, T, V/tp); their keys and values join the cache. The same numbers as forward over the whole
  // prefix, without recomputing it: prefill the prompt once, then one token per call.
  torch::Tensor forward_cached(const torch::Tensor& tokens, KvCache& cache);
  // hidden (B, T, C) -> logits (B, T, V/tp) over this rank's vocab slice. Last stage only.
  torch::Tensor logits(const torch::Tensor& hidden);
  // fp32 scalar: the SUM of next-token cross entropies over labels (B, T) != kIgnoreLabel.
  torch::Tensor loss_sum(const torch::Tensor& hidden, const torch::Tensor& labels);

  const ModelSpec& spec() const { return spec_; }
  // What this stage's MoE layers routed since its last Reset; null for a dense model.
  MoeStats* moe_stats() { return moe_stats_.get(); }
  const StageRange& stage() const { return stage_; }
  // How forward_hidden calls each layer (recomputation, docs/memory.md); set by the trainer.
  void set_layer_runner(LayerRunner runner) { layer_runner_ = std::move(runner); }
  // loss_sum holds the logits of at most this many tokens at a time (train.loss_chunk_tokens).
  void set_loss_chunk_tokens(int64_t tokens) { loss_chunk_tokens_ = tokens; }

 private:
  ModelSpec spec_;
  TpGroup tp_;
  StageRange stage_;
  VocabParallelEmbedding embed_tokens_{nullptr};  // null on a middle stage
  std::vector<Qwen3DecoderLayer> layers_;
  std::shared_ptr<MoeStats> moe_stats_;
  LayerRunner layer_runner_;
  int64_t loss_chunk_tokens_ = TrainSpec{}.loss_chunk_tokens;
  std::shared_ptr<NormImpl> norm_;         // last stage only (MakeDecoderNorm)
  ColumnParallelLinear lm_head_{nullptr};  // untied last stage only
  // Zen-Omni, first stage only (null otherwise, or when the spec has no such encoder).
  VisionEncoder vision_tower_{nullptr};
  MediaProjector multi_modal_projector_{nullptr};
  AudioEncoder audio_tower_{nullptr};
  MediaProjector audio_projector_{nullptr};

  void BuildEncoders(const TpGroup& tp);
  void FreezeEncoders();
  // pixels (N, 3, S, S) -> (N * tokens each, C): encoded, merged, projected, flattened in order.
  torch::Tensor VisionFeatures(const torch::Tensor& pixels);
  torch::Tensor AudioFeatures(const torch::Tensor& mels);  // (N, mel, frames) -> (N * AudioTokens(), C)
};
TORCH_MODULE(Qwen3);

// Checks `spec` (CheckSupported), then builds the stage: a spec this implementation cannot build is a
// BadInput (exit 2), never the constructor's exception. Every caller outside tests builds through it.
absl::StatusOr<Qwen3> MakeQwen3(const ModelSpec& spec, const ModelGroups& groups, StageRange stage,
                                const MoeSpec& moe);

}  // namespace zen
