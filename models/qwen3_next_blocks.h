// Qwen3-Next's own pieces beside Qwen3's (models/qwen3_blocks.h), computed as Hugging Face transformers'
// modeling_qwen3_next.py does: the zero-centred RMSNorm and the gated full attention with partial RoPE.
// Built from parallel/ layers: attention heads are split across the tp group.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "core/recipe.h"          // defines: ModelSpec
#include "models/positional.h"    // defines: Rope, MakeRope, ApplyRope
#include "models/qwen3_blocks.h"  // defines: NormImpl
#include "models/token_mixer.h"   // defines: TokenMixer, LayerInputs, LayerCache, KvState
#include "parallel/layers.h"      // defines: ColumnParallelLinear, RowParallelLinear
#include "parallel/tp_group.h"    // defines: TpGroup

namespace zen {

// Qwen3NextRMSNorm: x / rms(x) * (1 + w) in fp32, cast back to x's dtype. w starts at 0 (scale 1); the
// checkpoint stores w, the offset.
class ZeroCentredRmsNormImpl : public NormImpl {
 public:
  // grad_partial_over: {tp} for a per-head norm (each rank sees only its heads).
  ZeroCentredRmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over = {});
  // x: (..., dim) -> (..., dim).
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;  // (dim), zeros

 private:
  double eps_;
};
TORCH_MODULE(ZeroCentredRmsNorm);

// Rotary dims of a partial RoPE: head_dim * partial_rotary_factor (HF truncates: int(...)).
int64_t RotaryDim(int64_t head_dim, double partial_rotary_factor);

// x: (B, H, T, head_dim); rope from MakeRope(positions, rotary_dim, ...): rotate-half RoPE on the first
// rotary_dim dims (rope.cos's last dim), the rest passed through. With rotary_dim = head_dim this is ApplyRope.
torch::Tensor ApplyPartialRope(const torch::Tensor& x, const Rope& rope);

// Qwen3NextAttention: q_proj gives per head [query (head_dim) | gate (head_dim)] (head-major, so a tp rank's
// rows hold whole heads with their gates); zero-centred q/k norms over head_dim before partial RoPE; grouped
// KV heads; causal softmax attention scaled 1/sqrt(head_dim); out = o_proj(attn * sigmoid(gate)).
// A token mixer (models/token_mixer.h) like Qwen3Attention.
class GatedAttentionImpl : public TokenMixer {
 public:
  // rotary_dim: RotaryDim(head_dim, partial_rotary_factor).
  GatedAttentionImpl(const ModelSpec& spec, int64_t rotary_dim, const TpGroup& tp);
  // x: (B, T, C) -> (B, T, C), with the call's partial RoPE and (block-)causal mask from `in`; with
  // `cache`, its KvState.
  torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) override;
  // rope: MakeRope(positions, rotary_dim, theta, dtype). mask and cache as Qwen3Attention::Attend's
  // (models/qwen3_blocks.h): undefined mask = causal; the cache holds keys after RoPE.
  torch::Tensor Attend(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask, KvState* cache = nullptr);

  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear o_proj{nullptr};
  ZeroCentredRmsNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t local_heads_, local_kv_heads_, head_dim_, rotary_dim_;
  double rope_theta_;
};
TORCH_MODULE(GatedAttention);

}  // namespace zen
