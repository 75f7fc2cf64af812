#include "models/attention_heads.h"

#include <optional>
#include <vector>

#include "parallel/recompute.h"  // defines: AttentionCore

namespace zen {

int64_t LocalHeads(int64_t heads, const TpGroup& tp, const char* what) {
  TORCH_CHECK(heads % tp.size == 0, what, " (", heads, ") is not divisible by the tensor-parallel size ",
              tp.size);
  return heads / tp.size;
}

torch::Tensor CachedAttention(const torch::Tensor& q, torch::Tensor k, torch::Tensor v, const torch::Tensor& mask,
                              KvState* cache) {
  const int64_t t = q.size(2);
  if (cache != nullptr) {
    if (cache->k.defined()) {
      k = torch::cat({cache->k, k}, 2);  // (B, KV, S + T, hd)
      v = torch::cat({cache->v, v}, 2);
    }
    cache->k = k;
    cache->v = v;
    TORCH_CHECK(mask.defined() || t == 1 || t == k.size(2), "attention over a KV cache needs a mask for ", t,
                " new positions after ", k.size(2) - t, " cached ones");
  }
  // Query head h reads KV head h / (H / KV); scale 1/sqrt(hd). One new query sees every cached key.
  const bool gqa = q.size(1) != k.size(1);
  const bool causal = !mask.defined() && t > 1;
  const auto core = [mask, causal, gqa](const std::vector<torch::Tensor>& qkv) {
    return torch::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
                                               mask.defined() ? std::optional<torch::Tensor>(mask) : std::nullopt,
                                               0.0, causal, std::nullopt, gqa);
  };
  return AttentionCore(core, {q, k, v});  // (B, H, T, hd); recomputed under selective recompute
}

}  // namespace zen
