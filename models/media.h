// Zen-Omni's media on the model side: the encoders' inputs of one batch, and how their projected features
// take the place of the placeholder tokens (ModelSpec::image_token_id, video_token_id, audio_token_id).
#pragma once

#include <torch/torch.h>

#include "core/recipe.h"  // defines: ModelSpec

namespace zen {

// The media of a batch, in the order their placeholder runs appear in its tokens read row by row
// (data/loader/batch.h's Batch fields of the same names). Undefined = none of that kind.
struct MediaInputs {
  torch::Tensor images;        // (N_images, 3, image_size, image_size)
  torch::Tensor video_frames;  // (N_frames, 3, video_size, video_size), each video's frames in a row
  torch::Tensor audios;        // (N_audios, mel_bins, chunk_frames)
  bool empty() const { return !images.defined() && !video_frames.defined() && !audios.defined(); }
};

// tokens: (B, T) -> (B, T) bool: true where any of the spec's placeholder ids stands.
torch::Tensor IsMediaToken(const torch::Tensor& tokens, const ModelSpec& spec);

// Replaces the embeddings at the positions of placeholder `token_id` by `features` in order.
// embeddings: (B, T, C); tokens: (B, T); features: (N, C) or undefined, N = the number of `token_id`s
// in tokens (row-major): feature k goes to the k-th placeholder. A count that differs is an error.
torch::Tensor ReplacePlaceholders(const torch::Tensor& embeddings, const torch::Tensor& tokens, int64_t token_id,
                                  const torch::Tensor& features, const char* what);

}  // namespace zen
