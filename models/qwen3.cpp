#include "models/qwen3.h"

#include <string>

#include "core/recipe_schema.h"  // defines: ValidateModelShapes
#include "core/status.h"  // defines: BadInput, ZEN_RETURN_IF_ERROR
#include "models/init.h"  // defines: DrawSeed, InitParameters
#include "models/mixer_registry.h"  // defines: FindMixer
#include "parallel/chunked_cross_entropy.h"  // defines: ChunkedCrossEntropySum
#include "parallel/sequence_parallel.h"  // defines: LocalSequenceLength, MarkSequenceParallelGradients

namespace zen {

namespace {

// Every layer names a token mixer this build has (models/mixer_registry.h). Checked here, not with the
// recipe's shapes in core/, because the registry lives in models/.
absl::Status CheckMixers(const ModelSpec& spec) {
  if (spec.mixers.empty()) return absl::OkStatus();
  if (static_cast<int64_t>(spec.mixers.size()) != spec.layers) {
    return BadInput(absl::StrCat("model.mixers: ", spec.mixers.size(), " kinds for ", spec.layers, " layers"));
  }
  for (size_t l = 0; l < spec.mixers.size(); ++l) {
    if (FindMixer(spec.mixers[l]) == nullptr) {
      return BadInput(absl::StrCat("model.mixers: no token mixer \"", spec.mixers[l], "\" (layer ", l, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckSupported(const ModelSpec& spec) {
  ZEN_RETURN_IF_ERROR(ValidateModelShapes(spec));
  return CheckMixers(spec);
}

absl::StatusOr<Qwen3> MakeQwen3(const ModelSpec& spec, const ModelGroups& groups, StageRange stage,
                                const MoeSpec& moe) {
  ZEN_RETURN_IF_ERROR(CheckSupported(spec));
  return Qwen3(spec, groups, stage, moe);
}

Qwen3Impl::Qwen3Impl(const ModelSpec& spec, const ModelGroups& groups, StageRange stage, const MoeSpec& moe)
    : spec_(spec), tp_(groups.tp), stage_(stage) {
  const TpGroup& tp = groups.tp;
  // The model's only draw from the global generator: InitParameters sets every weight from it, so the
  // layers skip their own (layout-dependent) draws.
  const uint64_t seed = DrawSeed();
  SkipLayerInit skip_layer_init;
  const absl::Status supported = CheckSupported(spec);  // an invariant here: MakeQwen3 checked it as bad input
  TORCH_CHECK(supported.ok(), std::string(supported.message()));
  TORCH_CHECK(
      0 <= stage.first_layer && stage.first_layer <= stage.end_layer && stage.end_layer <= spec.layers,
      "stage layers [", stage.first_layer, ", ", stage.end_layer, ") outside [0, ", spec.layers, ")");
  auto body = register_module("model", std::make_shared<torch::nn::Module>("Qwen3Model"));
  const bool tied_head = stage.has_head && spec.tie_embeddings;
  if (stage.has_embedding || tied_head) {
    embed_tokens_ =
        body->register_module("embed_tokens", VocabParallelEmbedding(spec.vocab, spec.hidden, tp));
  }
  if (spec.IsMoe()) {
    moe_stats_ = std::make_shared<MoeStats>();
    moe_stats_->Reset(spec.experts);
  }
  auto layers = body->register_module("layers", torch::nn::ModuleDict());
  for (int64_t l = stage.first_layer; l < stage.end_layer; ++l) {
    layers_.push_back(Qwen3DecoderLayer(spec, l, groups, moe, moe_stats_));
    layers->update({{std::to_string(l), layers_.back().ptr()}});
  }
  if (stage.has_head) {
    norm_ = body->register_module("norm", MakeDecoderNorm(spec));
    if (!spec.tie_embeddings) {
      lm_head_ = register_module("lm_head", ColumnParallelLinear(spec.hidden, spec.vocab, tp));
    }
  }
  if (stage.has_embedding) BuildEncoders(tp);
  InitParameters(*this, seed, tp);
  FreezeEncoders();
  MarkSequenceParallelGradients(*this, tp);
}

// The encoders live with the embedding: their features replace embeddings there. Every tp rank holds its
// heads' share; under expert parallelism they are replicated like attention.
void Qwen3Impl::BuildEncoders(const TpGroup& tp) {
  const VisionSpec& v = spec_.vision;
  const AudioSpec& a = spec_.audio;
  if (v.layers > 0) {
    vision_tower_ = register_module("vision_tower", VisionEncoder(v, tp));
    multi_modal_projector_ =
        register_module("multi_modal_projector", MediaProjector(v.hidden * v.merge * v.merge, spec_.hidden, tp));
  }
  if (a.layers > 0) {
    audio_tower_ = register_module("audio_tower", AudioEncoder(a, tp));
    audio_projector_ = register_module("audio_projector", MediaProjector(a.hidden, spec_.hidden, tp));
  }
}

// Frozen encoders train in no recipe (LoRA or full fine-tuning); their projectors do train in full
// fine-tuning. Whisper's sinusoidal positions never train.
void Qwen3Impl::FreezeEncoders() {
  if (vision_tower_ && spec_.vision.frozen) {
    for (auto& p : vision_tower_->parameters()) p.set_requires_grad(false);
  }
  if (audio_tower_ && spec_.audio.frozen) {
    for (auto& p : audio_tower_->parameters()) p.set_requires_grad(false);
  }
}

torch::Tensor Qwen3Impl::VisionFeatures(const torch::Tensor& pixels) {
  TORCH_CHECK(vision_tower_, "the batch holds images or video but model.vision.layers is 0");
  auto merged = vision_tower_->Merge(vision_tower_(pixels));  // (N, tokens, m*m*D)
  return multi_modal_projector_(merged).flatten(0, 1);         // (N * tokens, C)
}

torch::Tensor Qwen3Impl::AudioFeatures(const torch::Tensor& mels) {
  TORCH_CHECK(audio_tower_, "the batch holds audio but model.audio.layers is 0");
  return audio_projector_(audio_tower_->Pool(audio_tower_(mels))).flatten(0, 1);  // (N * AudioTokens, C)
}

torch::Tensor Qwen3Impl::embed(const torch::Tensor& tokens, const MediaInputs& media) {
  TORCH_CHECK(stage_.has_embedding, "this pipeline stage takes hidden states: call forward_hidden");
  torch::Tensor x = embed_tokens_(tokens);  // (B, T, C)
  if (!spec_.IsMultimodal()) {
    TORCH_CHECK(media.empty(), "the batch holds media but the model has no encoder (model.vision/audio.layers)");
    return x;
  }
  auto features = [](const torch::Tensor& in, auto encode) { return in.defined() ? encode(in) : torch::Tensor(); };
  auto vision = [this](const torch::Tensor& p) { return VisionFeatures(p); };
  x = ReplacePlaceholders(x, tokens, spec_.image_token_id, features(media.images, vision), "image");
  x = ReplacePlaceholders(x, tokens, spec_.video_token_id, features(media.video_frames, vision), "video");
  return ReplacePlaceholders(x, tokens, spec_.audio_token_id,
                             features(media.audios, [this](const torch::Tensor& m) { return AudioFeatures(m); }),
                             "audio");
}

torch::Tensor Qwen3Impl::forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                                 const torch::Tensor& segments, const MediaInputs& media) {
  torch::Tensor x = embed(tokens, media);  // (B, T) -> (B, T, C)
  // The cross-modal layers attend to the features that replaced each row's placeholders.
  const MediaContext context =
      spec_.IsMultimodal() && spec_.cross_attn_every > 0 ? GatherMediaContext(x, IsMediaToken(tokens, spec_))
                                                         : MediaContext{};
  return forward_hidden(x, positions, segments, context);
}

torch::Tensor Qwen3Impl::forward_hidden(const torch::Tensor& hidden, const torch::Tensor& positions,
                                        const torch::Tensor& segments, const MediaContext& context) {
  // hidden holds this rank's T/tp positions under sequence parallelism; positions and masks stay whole.
  TORCH_CHECK(hidden.dim() == 3 && positions.dim() == 2 && positions.size(0) == hidden.size(0) &&
                  LocalSequenceLength(positions.size(1), tp_) == hidden.size(1),
              "want hidden (B, T, C) and positions (B, T), got ", hidden.sizes(), " and ", positions.sizes());
  // RoPE and the masks are built once per call, on the first layer that asks, and shared by the rest.
  // Held by shared pointers: a recomputed layer (LayerRunner) re-runs in the backward, after this returns.
  auto media = std::make_shared<MediaContext>(context);
  auto in = std::make_shared<LayerInputs>(hidden, positions, segments, /*cached=*/0, media.get());
  torch::Tensor x = hidden;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Qwen3DecoderLayer layer = layers_[i];
    x = layer_runner_.Run(static_cast<int64_t>(i), *layer, [layer, in, media](const torch::Tensor& h) mutable {  // media: `in` points to it
      return layer(h, *in);
    }, x, {context.features});
  }
  return stage_.has_head ? norm_->forward(x) : x;
}

torch::Tensor Qwen3Impl::forward_cached(const torch::Tensor& tokens, KvCache& cache) {
  TORCH_CHECK(stage_.has_embedding && stage_.has_head, "cached generation runs the whole model in one stage");
  TORCH_CHECK(tokens.dim() == 2, "want tokens (B, T), got ", tokens.sizes());
  const int64_t b = tokens.size(0), t = tokens.size(1), end = cache.length + t;
  auto positions = torch::arange(cache.length, end, torch::TensorOptions().dtype(torch::kLong).device(tokens.device()));
  torch::Tensor x = embed_tokens_(tokens);  // (B, T, C)
  LayerInputs in(x, positions.unsqueeze(0).expand({b, t}), /*segments=*/{}, cache.length);
  cache.layers.resize(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) x = layers_[i](x, in, &cache.layers[i]);
  cache.length = end;
  return logits(norm_->forward(x));
}

torch::Tensor Qwen3Impl::logits(const torch::Tensor& hidden) {
  TORCH_CHECK(stage_.has_head, "only the last pipeline stage has the output head");
  return lm_head_ ? lm_head_(hidden) : embed_tokens_->Unembed(hidden);  // (B, T, V/tp)
}

torch::Tensor Qwen3Impl::loss_sum(const torch::Tensor& hidden, const torch::Tensor& labels) {
  // Under sequence parallelism hidden is this rank's sequence shard and the head gathers the whole
  // sequence: the unchunked path (chunking a shard would pair gathered rows with the wrong labels).
  if (hidden.size(1) != labels.size(1)) {
    auto z = logits(hidden);  // (B, T, V/tp)
    return VocabParallelCrossEntropySum(z.reshape({-1, z.size(-1)}), labels.reshape({-1}), tp_);
  }
  const auto head = [this](const torch::Tensor& h) { return logits(h); };
  const std::vector<torch::Tensor> head_params = lm_head_ ? lm_head_->parameters() : embed_tokens_->parameters();
  return ChunkedCrossEntropySum(hidden.reshape({-1, hidden.size(-1)}), labels.reshape({-1}), loss_chunk_tokens_,
                                head, head_params, tp_);
}

}  // namespace zen
