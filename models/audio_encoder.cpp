#include "models/audio_encoder.h"

#include <cmath>
#include <string>

namespace zen {
namespace {

// A 1-D convolution's parameters under `name` (HF's nn.Conv1d names), left for models/init to set.
std::pair<torch::Tensor, torch::Tensor> RegisterConv(torch::nn::Module& parent, const std::string& name,
                                                     int64_t in, int64_t out) {
  auto conv = parent.register_module(name, std::make_shared<ParamModule>());
  ParamInfo weight, bias;  // whole on every rank; the weight drawn, the bias 0
  bias.init = InitRule::kZero;
  return {conv->RegisterParameter("weight", torch::empty({out, in, 3}), weight),
          conv->RegisterParameter("bias", torch::zeros({out}), bias)};
}

}  // namespace

WhisperLayerImpl::WhisperLayerImpl(const AudioSpec& spec, const TpGroup& tp) {
  self_attn = register_module("self_attn", EncoderAttention(spec.hidden, spec.heads, tp, /*k_bias=*/false));
  self_attn_layer_norm = register_module("self_attn_layer_norm", MakeLayerNorm(spec.hidden));
  fc1 = register_module("fc1", ColumnParallelLinear(spec.hidden, spec.ffn, tp, false, /*bias=*/true));
  fc2 = register_module("fc2", RowParallelLinear(spec.ffn, spec.hidden, tp, true, /*bias=*/true));
  final_layer_norm = register_module("final_layer_norm", MakeLayerNorm(spec.hidden));
}

torch::Tensor WhisperLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + self_attn(self_attn_layer_norm(x));
  return h + fc2(torch::gelu(fc1(final_layer_norm(h))));  // inner (N, L, ffn/tp)
}

torch::Tensor WhisperSinusoids(int64_t length, int64_t channels) {
  const double increment = std::log(10000.0) / static_cast<double>(channels / 2 - 1);
  auto inv_timescales = torch::exp(-increment * torch::arange(channels / 2, torch::kFloat32));  // (C/2)
  auto scaled = torch::arange(length, torch::kFloat32).view({-1, 1}) * inv_timescales.view({1, -1});
  return torch::cat({scaled.sin(), scaled.cos()}, 1);  // (length, C)
}

AudioEncoderImpl::AudioEncoderImpl(const AudioSpec& spec, const TpGroup& tp) : spec_(spec) {
  const int64_t d = spec.hidden;
  std::tie(conv1_weight_, conv1_bias_) = RegisterConv(*this, "conv1", spec.mel_bins, d);
  std::tie(conv2_weight_, conv2_bias_) = RegisterConv(*this, "conv2", d, d);
  auto positions = register_module("embed_positions", std::make_shared<ParamModule>());
  ParamInfo sinusoids;
  sinusoids.init = InitRule::kKeep;
  embed_positions = positions->RegisterParameter("weight", WhisperSinusoids(spec.chunk_frames / 2, d), sinusoids,
                                                 /*requires_grad=*/false);
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < spec.layers; ++l) {
    layers_.push_back(WhisperLayer(spec, tp));
    layers->push_back(layers_.back());
  }
  layer_norm_ = register_module("layer_norm", MakeLayerNorm(d));
}

torch::Tensor AudioEncoderImpl::forward(const torch::Tensor& mels) {
  TORCH_CHECK(mels.dim() == 3 && mels.size(1) == spec_.mel_bins && mels.size(2) == spec_.chunk_frames,
              "want mels (N, ", spec_.mel_bins, ", ", spec_.chunk_frames, "), got ", mels.sizes());
  auto x = torch::gelu(torch::conv1d(mels.to(conv1_weight_.dtype()), conv1_weight_, conv1_bias_, 1, 1));
  x = torch::gelu(torch::conv1d(x, conv2_weight_, conv2_bias_, /*stride=*/2, /*padding=*/1));  // (N, D, L/2)
  x = x.transpose(1, 2) + embed_positions;                                                     // (N, L/2, D)
  for (auto& layer : layers_) x = layer(x);
  return layer_norm_(x);
}

torch::Tensor AudioEncoderImpl::Pool(const torch::Tensor& frames) const {
  const int64_t n = frames.size(0), l = frames.size(1), d = frames.size(2);
  TORCH_CHECK(l % spec_.pool == 0, l, " audio frames do not pool by ", spec_.pool);
  return frames.reshape({n, l / spec_.pool, spec_.pool, d}).mean(2);
}

}  // namespace zen
