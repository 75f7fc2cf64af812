// A micro-batch as the trainer consumes it: next-token labels are already aligned with the tokens.
#pragma once

#include <torch/torch.h>

namespace zen {

inline constexpr int64_t kIgnoreLabel = -100;  // a position that contributes no loss (masked or padding)

struct Batch {
  torch::Tensor tokens;     // (B, T) int64
  torch::Tensor labels;     // (B, T) int64: the token to predict at each position, or kIgnoreLabel
  torch::Tensor positions;  // (B, T) int64: RoPE positions (restart at each packed document)
  // (B, T) int64: which packed document of its row each token belongs to (0, 1, ...), so attention can
  // stay inside a document (block-causal). Undefined = plain causal over the whole row: a source leaves
  // it undefined when block-causal attention is off or no row of the batch holds a document boundary.
  torch::Tensor segments;
  // Zen-Omni's media, in the order their placeholder runs appear in `tokens` read row by row: the k-th run
  // of model.image_token_id takes images[k]'s features, and so on (a run's length is the modality's token
  // count; a video's run is frames x FrameTokens() long). Undefined when the batch holds none.
  torch::Tensor images;        // (N_images, 3, S, S) float32, CLIP-normalized, S = model.vision.image_size
  torch::Tensor video_frames;  // (N_frames, 3, s, s) float32, each video's frames in a row, s = video_size
  torch::Tensor audios;        // (N_audios, mel_bins, chunk_frames) float32, Whisper's log-mel scaling

  Batch To(const torch::Device& device) const {
    auto to = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : torch::Tensor(); };
    return {tokens.to(device), labels.to(device), positions.to(device), to(segments),
            to(images), to(video_frames), to(audios)};
  }

  int64_t LossTokens() const { return labels.ne(kIgnoreLabel).sum().item<int64_t>(); }
};

}  // namespace zen
