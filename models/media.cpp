#include "models/media.h"

namespace zen {

torch::Tensor IsMediaToken(const torch::Tensor& tokens, const ModelSpec& spec) {
  return tokens.eq(spec.image_token_id).logical_or(tokens.eq(spec.video_token_id)).logical_or(
      tokens.eq(spec.audio_token_id));
}

torch::Tensor ReplacePlaceholders(const torch::Tensor& embeddings, const torch::Tensor& tokens, int64_t token_id,
                                  const torch::Tensor& features, const char* what) {
  const auto at = tokens.eq(token_id);  // (B, T)
  const int64_t places = at.sum().item<int64_t>();
  const int64_t given = features.defined() ? features.size(0) : 0;
  TORCH_CHECK(places == given, "the batch has ", places, " ", what, " placeholder tokens but its media give ",
              given, " feature vectors");
  if (places == 0) return embeddings;
  // masked_scatter fills the selected positions in row-major order: feature k -> k-th placeholder.
  return embeddings.masked_scatter(at.unsqueeze(-1), features.to(embeddings.dtype()));
}

}  // namespace zen
