// Zen-Omni's vision encoder: CLIP's vision transformer (ViT-L/14's structure at any VisionSpec size), as
// Hugging Face's CLIPVisionModel computes it, then a merge of merge x merge neighbouring patches and a
// projector into the text width. Parameter names are CLIP's under "vision_model.":
//   embeddings.{class_embedding, patch_embedding.weight, position_embedding.weight}, pre_layrnorm.*,
//   encoder.layers.{i}.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}.*,
//   post_layernorm.*
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "core/recipe.h"             // defines: VisionSpec
#include "models/encoder_blocks.h"   // defines: EncoderAttention, EncoderMlp
#include "parallel/tp_group.h"       // defines: TpGroup

namespace zen {

class ClipLayerImpl : public torch::nn::Module {
 public:
  ClipLayerImpl(const VisionSpec& spec, const TpGroup& tp);
  torch::Tensor forward(const torch::Tensor& x);  // (N, L, D) -> (N, L, D), pre-norm residual blocks

  LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  EncoderAttention self_attn{nullptr};
  EncoderMlp mlp{nullptr};
};
TORCH_MODULE(ClipLayer);

class VisionEncoderImpl : public torch::nn::Module {
 public:
  // Learned positions for image_size's patch grid (plus the class token's); other sizes interpolate them.
  VisionEncoderImpl(const VisionSpec& spec, const TpGroup& tp);
  // pixels: (N, 3, S, S), S a multiple of patch -> (N, (S/patch)^2, D): every patch's state after
  // post_layernorm, row-major over the grid, class token dropped. S != image_size interpolates the
  // positions bicubically to the grid (HF's interpolate_pos_encoding).
  torch::Tensor forward(const torch::Tensor& pixels);
  // patches: (N, g*g, D) -> (N, (g/m)^2, m*m*D): each merge x merge block of neighbours as one vector
  // (row-major over blocks; inside a block row-major over its patches).
  torch::Tensor Merge(const torch::Tensor& patches) const;

 private:
  // (1 + g*g, D) positions for a g x g patch grid.
  torch::Tensor Positions(int64_t grid) const;

  VisionSpec spec_;
  torch::Tensor class_embedding_;     // (D)
  torch::Tensor patch_embedding_;     // (D, 3, patch, patch): a stride-patch convolution without bias
  torch::Tensor position_embedding_;  // (1 + (image_size/patch)^2, D)
  LayerNorm pre_layrnorm_{nullptr}, post_layernorm_{nullptr};  // "pre_layrnorm": CLIP's spelling
  std::vector<ClipLayer> layers_;
};
TORCH_MODULE(VisionEncoder);

}  // namespace zen
