#include "models/vision_encoder.h"

#include <string>

namespace zen {
namespace {

// A module holding one parameter called "weight" (HF's nn.Conv2d / nn.Embedding without their draws,
// so the model's only random numbers stay those of models/init).
torch::Tensor RegisterWeight(torch::nn::Module& parent, const std::string& name, at::IntArrayRef shape) {
  auto holder = parent.register_module(name, std::make_shared<ParamModule>());
  return holder->RegisterParameter("weight", torch::empty(shape), ParamInfo{});  // drawn, whole
}

}  // namespace

ClipLayerImpl::ClipLayerImpl(const VisionSpec& spec, const TpGroup& tp) {
  layer_norm1 = register_module("layer_norm1", MakeLayerNorm(spec.hidden));
  self_attn = register_module("self_attn", EncoderAttention(spec.hidden, spec.heads, tp, /*k_bias=*/true));
  layer_norm2 = register_module("layer_norm2", MakeLayerNorm(spec.hidden));
  mlp = register_module("mlp", EncoderMlp(spec.hidden, spec.ffn, tp, Activation::kQuickGelu));
}

torch::Tensor ClipLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + self_attn(layer_norm1(x));
  return h + mlp(layer_norm2(h));
}

VisionEncoderImpl::VisionEncoderImpl(const VisionSpec& spec, const TpGroup& tp) : spec_(spec) {
  const int64_t d = spec.hidden, grid = spec.image_size / spec.patch;
  auto vision = register_module("vision_model", std::make_shared<torch::nn::Module>());
  auto embeddings = vision->register_module("embeddings", std::make_shared<ParamModule>());
  class_embedding_ = embeddings->RegisterParameter("class_embedding", torch::empty({d}), ParamInfo{});
  patch_embedding_ = RegisterWeight(*embeddings, "patch_embedding", {d, 3, spec.patch, spec.patch});
  position_embedding_ = RegisterWeight(*embeddings, "position_embedding", {1 + grid * grid, d});
  pre_layrnorm_ = vision->register_module("pre_layrnorm", MakeLayerNorm(d));
  auto encoder = vision->register_module("encoder", std::make_shared<torch::nn::Module>());
  auto layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < spec.layers; ++l) {
    layers_.push_back(ClipLayer(spec, tp));
    layers->push_back(layers_.back());
  }
  post_layernorm_ = vision->register_module("post_layernorm", MakeLayerNorm(d));
}

torch::Tensor VisionEncoderImpl::Positions(int64_t grid) const {
  const int64_t trained = spec_.image_size / spec_.patch, d = spec_.hidden;
  if (grid == trained) return position_embedding_;
  auto patches = position_embedding_.slice(0, 1).reshape({1, trained, trained, d}).permute({0, 3, 1, 2});
  namespace F = torch::nn::functional;
  auto resized = F::interpolate(patches, F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{grid, grid})
                                             .mode(torch::kBicubic)
                                             .align_corners(false));  // (1, D, g, g)
  return torch::cat({position_embedding_.slice(0, 0, 1), resized.permute({0, 2, 3, 1}).reshape({grid * grid, d})});
}

torch::Tensor VisionEncoderImpl::forward(const torch::Tensor& pixels) {
  TORCH_CHECK(pixels.dim() == 4 && pixels.size(1) == 3 && pixels.size(2) == pixels.size(3) &&
                  pixels.size(2) % spec_.patch == 0,
              "want pixels (N, 3, S, S) with S a multiple of ", spec_.patch, ", got ", pixels.sizes());
  const int64_t n = pixels.size(0), grid = pixels.size(2) / spec_.patch;
  auto patches = torch::conv2d(pixels.to(patch_embedding_.dtype()), patch_embedding_, {}, spec_.patch);
  patches = patches.flatten(2).transpose(1, 2);                                   // (N, g*g, D)
  auto cls = class_embedding_.view({1, 1, -1}).expand({n, 1, spec_.hidden});      // (N, 1, D)
  auto x = pre_layrnorm_(torch::cat({cls, patches}, 1) + Positions(grid));       // (N, 1 + g*g, D)
  for (auto& layer : layers_) x = layer(x);
  return post_layernorm_(x.slice(1, 1));  // (N, g*g, D)
}

torch::Tensor VisionEncoderImpl::Merge(const torch::Tensor& patches) const {
  const int64_t n = patches.size(0), d = patches.size(2), m = spec_.merge;
  const int64_t grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(patches.size(1)))));
  TORCH_CHECK(grid * grid == patches.size(1) && grid % m == 0, "cannot merge ", patches.size(1),
              " patches in ", m, " x ", m, " blocks");
  const int64_t g = grid / m;
  auto blocks = patches.reshape({n, g, m, g, m, d}).permute({0, 1, 3, 2, 4, 5});  // (N, g, g, m, m, D)
  return blocks.reshape({n, g * g, m * m * d});
}

}  // namespace zen
