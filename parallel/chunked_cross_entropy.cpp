#include "parallel/chunked_cross_entropy.h"

#include <algorithm>

#include "parallel/layers.h"     // defines: VocabParallelCrossEntropySum
#include "parallel/recompute.h"  // defines: Checkpoint

namespace zen {

torch::Tensor ChunkedCrossEntropySum(const torch::Tensor& hidden, const torch::Tensor& labels, int64_t chunk_tokens,
                                     const HeadFn& head, const std::vector<torch::Tensor>& head_params,
                                     const TpGroup& tp) {
  TORCH_CHECK(chunk_tokens > 0, "the loss chunk must hold at least one token, got ", chunk_tokens);
  const int64_t n = hidden.size(0);
  if (n <= chunk_tokens) return VocabParallelCrossEntropySum(head(hidden), labels, tp);
  torch::Tensor total;
  for (int64_t begin = 0; begin < n; begin += chunk_tokens) {
    const int64_t rows = std::min(chunk_tokens, n - begin);
    const torch::Tensor chunk_labels = labels.narrow(0, begin, rows);
    auto chunk_loss = [head, chunk_labels, tp](const std::vector<torch::Tensor>& in) {
      return VocabParallelCrossEntropySum(head(in[0]), chunk_labels, tp);  // logits (rows, V/tp), then freed
    };
    torch::Tensor loss = Checkpoint(chunk_loss, {hidden.narrow(0, begin, rows)}, head_params);
    total = total.defined() ? total + loss : loss;
  }
  return total;
}

}  // namespace zen
