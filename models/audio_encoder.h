// Zen-Omni's audio encoder: Whisper's encoder (Whisper-large-v3's structure at any AudioSpec size), as
// Hugging Face's WhisperEncoder computes it. Parameter names are Whisper's encoder's:
//   conv1.{weight,bias}, conv2.{weight,bias}, embed_positions.weight (fixed sinusoids, never trained),
//   layers.{i}.{self_attn_layer_norm, self_attn.{q,k,v,out}_proj (k without bias), final_layer_norm,
//   fc1, fc2}.*, layer_norm.*
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "core/recipe.h"            // defines: AudioSpec
#include "models/encoder_blocks.h"  // defines: EncoderAttention
#include "parallel/tp_group.h"      // defines: TpGroup

namespace zen {

class WhisperLayerImpl : public torch::nn::Module {
 public:
  WhisperLayerImpl(const AudioSpec& spec, const TpGroup& tp);
  torch::Tensor forward(const torch::Tensor& x);  // (N, L, D) -> (N, L, D), pre-norm residual blocks

  LayerNorm self_attn_layer_norm{nullptr}, final_layer_norm{nullptr};
  EncoderAttention self_attn{nullptr};
  ColumnParallelLinear fc1{nullptr};
  RowParallelLinear fc2{nullptr};
};
TORCH_MODULE(WhisperLayer);

// Whisper's sinusoids: (length, channels) = [sin(t * f_i), cos(t * f_i)], f_i = 10000^(-i / (channels/2 - 1)).
torch::Tensor WhisperSinusoids(int64_t length, int64_t channels);

class AudioEncoderImpl : public torch::nn::Module {
 public:
  AudioEncoderImpl(const AudioSpec& spec, const TpGroup& tp);
  // mels: (N, mel_bins, chunk_frames) -> (N, chunk_frames / 2, D) after the final layer_norm.
  torch::Tensor forward(const torch::Tensor& mels);
  // frames: (N, L, D) -> (N, L / pool, D): the mean of each `pool` neighbouring frames.
  torch::Tensor Pool(const torch::Tensor& frames) const;

  torch::Tensor embed_positions;  // (chunk_frames / 2, D), requires_grad false

 private:
  AudioSpec spec_;
  torch::Tensor conv1_weight_, conv1_bias_;  // (D, mel_bins, 3), (D)
  torch::Tensor conv2_weight_, conv2_bias_;  // (D, D, 3), (D)
  std::vector<WhisperLayer> layers_;
  LayerNorm layer_norm_{nullptr};
};
TORCH_MODULE(AudioEncoder);

}  // namespace zen
