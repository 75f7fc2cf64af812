// What every attention-like mixer (Qwen3's attention, Qwen3-Next's gated attention and Gated DeltaNet)
// shares: the heads one tensor-parallel rank holds, and causal attention over a generation's KV cache.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "models/token_mixer.h"  // defines: KvState
#include "parallel/tp_group.h"   // defines: TpGroup

namespace zen {

// heads / tp.size; `what` names the count when it does not divide (an invariant: CheckLayoutShapes
// refuses such layouts as bad input first).
int64_t LocalHeads(int64_t heads, const TpGroup& tp, const char* what);

// softmax(q kᵀ / √hd + mask) v with grouped KV heads, q: (B, H, T, hd), k, v: (B, KV, T, hd) after RoPE.
// With `cache`, k and v are appended to the cached ones first and attended to with them; mask is then
// (T, S + T), or undefined = causal over the new positions (allowed when S = 0 or T = 1). Undefined mask
// without a cache = causal. The core runs through AttentionCore, so selective recompute drops it.
// Returns (B, H, T, hd).
torch::Tensor CachedAttention(const torch::Tensor& q, torch::Tensor k, torch::Tensor v, const torch::Tensor& mask,
                              KvState* cache);

}  // namespace zen
