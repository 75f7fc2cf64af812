#include "models/param_count.h"

#include <string>
#include <vector>

#include "models/encoder_blocks.h"  // defines: EncoderLayerParams, ProjectorParams
#include "models/lora.h"  // defines: LoraLinear, ResolveLoraTarget

namespace zen {
namespace {

// One layer's linears of a kind: `count` matrices of (in -> out).
struct LinearShape {
  double count = 0, in = 0, out = 0;
  double Params() const { return count * in * out; }
  double LoraParams(double rank) const { return count * rank * (in + out); }
};

// Qwen3-Next's Gated DeltaNet widths: key (Hk dk) and value (Hv dv) projections.
struct LinearAttentionWidths {
  double key, value, value_heads;
  explicit LinearAttentionWidths(const ModelSpec& s)
      : key(double(s.linear_num_key_heads * s.linear_key_head_dim)),
        value(double(s.linear_num_value_heads * s.linear_value_head_dim)),
        value_heads(double(s.linear_num_value_heads)) {}
};

LinearShape ShapeOf(const ModelSpec& s, int64_t layer, LoraLinear kind) {
  const double c = s.hidden, q = s.heads * s.HeadDim(), kv = s.KvHeads() * s.HeadDim();
  const bool moe = s.IsMoeLayer(layer);
  const double dense = moe ? 0 : 1, experts = moe ? s.experts : 0;
  const double shared = moe && s.shared_ffn > 0 ? 1 : 0;
  const bool linear = s.IsLinearAttentionLayer(layer);
  const double attention = linear ? 0 : 1, linear_attention = linear ? 1 : 0;
  const double query = s.MixerOf(layer) == "gated_attention" ? 2 * q : q;  // gated: query and gate rows
  const LinearAttentionWidths w(s);
  switch (kind) {
    case LoraLinear::kQ: return {attention, c, query};
    case LoraLinear::kK:
    case LoraLinear::kV: return {attention, c, kv};
    case LoraLinear::kO: return {attention, q, c};
    case LoraLinear::kLinearQkvz: return {linear_attention, c, 2 * w.key + 2 * w.value};
    case LoraLinear::kLinearBa: return {linear_attention, c, 2 * w.value_heads};
    case LoraLinear::kLinearOut: return {linear_attention, w.value, c};
    case LoraLinear::kSharedExpertGate: return {s.shared_expert_gate ? shared : 0, c, 1};
    case LoraLinear::kGate:
    case LoraLinear::kUp: return {dense, c, double(s.ffn)};
    case LoraLinear::kDown: return {dense, double(s.ffn), c};
    case LoraLinear::kRouter: return {moe ? 1.0 : 0.0, c, double(s.experts)};
    case LoraLinear::kExpertGate:
    case LoraLinear::kExpertUp: return {experts, c, double(s.expert_ffn)};
    case LoraLinear::kExpertDown: return {experts, double(s.expert_ffn), c};
    case LoraLinear::kSharedGate:
    case LoraLinear::kSharedUp: return {shared, c, double(s.shared_ffn)};
    case LoraLinear::kSharedDown: return {shared, double(s.shared_ffn), c};
    case LoraLinear::kCrossQ:
    case LoraLinear::kCrossK:
    case LoraLinear::kCrossV: return {s.IsCrossAttnLayer(layer) ? 1.0 : 0.0, c, double(s.heads * s.HeadDim())};
    case LoraLinear::kCrossO: return {s.IsCrossAttnLayer(layer) ? 1.0 : 0.0, double(s.heads * s.HeadDim()), c};
  }
  return {};
}

double Sum(const ModelSpec& s, int64_t layer, const std::vector<LoraLinear>& kinds) {
  double n = 0;
  for (LoraLinear kind : kinds) n += ShapeOf(s, layer, kind).Params();
  return n;
}

// The CLIP vision tower (embeddings, pre/post LayerNorm, layers) and its merge projector.
double VisionParams(const ModelSpec& s) {
  const VisionSpec& v = s.vision;
  if (v.layers <= 0) return 0;
  const double d = v.hidden, p = v.patch, grid = double(v.image_size / v.patch), merged = d * v.merge * v.merge;
  const double embeddings = d + 3 * p * p * d + (grid * grid + 1) * d;
  return embeddings + 2 * 2 * d + v.layers * EncoderLayerParams(d, double(v.ffn), 4) + ProjectorParams(merged, s.hidden);
}

// Whisper's encoder (two convolutions, the fixed positions, layers with k_proj unbiased, final
// LayerNorm) and its projector.
double AudioParams(const ModelSpec& s) {
  const AudioSpec& a = s.audio;
  if (a.layers <= 0) return 0;
  const double d = a.hidden;
  const double convs = (3 * a.mel_bins * d + d) + (3 * d * d + d), positions = a.chunk_frames / 2 * d;
  return convs + positions + a.layers * EncoderLayerParams(d, double(a.ffn), 3) + 2 * d + ProjectorParams(d, s.hidden);
}

// A layer's parameters outside its linears: q/k norms (attention), or the Gated DeltaNet's conv (over the
// q, k, v channels), A_log, dt_bias and gated norm; plus the two layer norms.
double LayerNormsAndStates(const ModelSpec& s, int64_t layer) {
  const double c = s.hidden;
  if (!s.IsLinearAttentionLayer(layer)) return 2.0 * s.HeadDim() + 2.0 * c;
  const LinearAttentionWidths w(s);
  return (2 * w.key + w.value) * double(s.linear_conv_kernel_dim) + 2 * w.value_heads + double(s.linear_value_head_dim) +
         2.0 * c;
}

// Every linear of a layer outside the routed experts.
const std::vector<LoraLinear>& SharedLinears() {
  using L = LoraLinear;
  static const std::vector<LoraLinear> kinds = {
      L::kQ, L::kK, L::kV, L::kO, L::kGate, L::kUp, L::kDown, L::kRouter, L::kSharedGate, L::kSharedUp,
      L::kSharedDown, L::kCrossQ, L::kCrossK, L::kCrossV, L::kCrossO, L::kLinearQkvz, L::kLinearBa,
      L::kLinearOut, L::kSharedExpertGate};
  return kinds;
}

}  // namespace

ParamCounts CountParams(const ModelSpec& s) {
  using L = LoraLinear;
  const double c = s.hidden;
  ParamCounts counts;
  counts.embedding = double(s.vocab) * c;
  // Everything outside the layers: embedding, final norm, untied head.
  counts.encoders = VisionParams(s) + AudioParams(s);
  double outside = counts.embedding + c + (s.tie_embeddings ? 0 : double(s.vocab) * c) + counts.encoders;
  counts.total = counts.active = outside;
  for (int64_t l = 0; l < s.layers; ++l) {
    // Attention, its two per-head norms, the two layer norms, the dense MLP (zero on MoE layers), and
    // on cross-modal layers the cross-attention (four linears, its norm and gate).
    const double cross = s.IsCrossAttnLayer(l) ? c + 1 : 0;
    const double common = Sum(s, l, SharedLinears()) + LayerNormsAndStates(s, l) + cross;
    const double experts = Sum(s, l, {L::kExpertGate, L::kExpertUp, L::kExpertDown});
    counts.total += common + experts;
    counts.active += common + (s.IsMoeLayer(l) ? experts * s.top_k / s.experts : 0);
  }
  return counts;
}

double CountLoraParams(const ModelSpec& s, const LoraSpec& lora) {
  if (!lora.enabled) return 0;
  std::vector<std::string> known;
  for (const auto& target : lora.targets) {
    if (ResolveLoraTarget(target).ok()) known.push_back(target);
  }
  const std::vector<LoraLinear> kinds = ResolveLoraTargets(known).value();
  double n = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    for (LoraLinear kind : kinds) n += ShapeOf(s, l, kind).LoraParams(double(lora.rank));
  }
  return n;
}

double LayerFlopsPerToken(const ModelSpec& s, int64_t layer, int64_t seq_len) {
  using L = LoraLinear;
  const double linears = Sum(s, layer, {L::kQ, L::kK, L::kV, L::kO, L::kGate, L::kUp, L::kDown, L::kRouter,
                                        L::kSharedGate, L::kSharedUp, L::kSharedDown, L::kLinearQkvz, L::kLinearBa,
                                        L::kLinearOut, L::kSharedExpertGate});
  const double experts = s.IsMoeLayer(layer)
                             ? Sum(s, layer, {L::kExpertGate, L::kExpertUp, L::kExpertDown}) * s.top_k / s.experts
                             : 0.0;
  if (s.IsLinearAttentionLayer(layer)) {
    // The gated delta rule per value head: the state's decay, update and read (about 3 x 2 dk dv) plus
    // the intra-chunk products over 64 positions (2 x 64 (dk + dv)); linear in the sequence.
    const double dk = double(s.linear_key_head_dim), dv = double(s.linear_value_head_dim);
    return 2.0 * (linears + experts) + double(s.linear_num_value_heads) * (6 * dk * dv + 128 * (dk + dv));
  }
  const double attention = 2.0 * double(seq_len) * s.heads * s.HeadDim();
  return 2.0 * (linears + experts) + attention;
}

double HeadFlopsPerToken(const ModelSpec& s) { return 2.0 * double(s.hidden) * double(s.vocab); }

}  // namespace zen
