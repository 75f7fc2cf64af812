#include "models/positional.h"

namespace zen {
namespace {

// x: (..., D) -> (-x[..., D/2:], x[..., :D/2])
torch::Tensor RotateHalf(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

}  // namespace

Rope MakeRope(const torch::Tensor& positions, int64_t head_dim, double theta, torch::ScalarType dtype) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  auto inv_freq = 1.0 / torch::pow(theta, torch::arange(0, head_dim, 2, f32) / head_dim);  // (hd/2)
  auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;                     // (B, T, hd/2)
  auto angles = torch::cat({freqs, freqs}, -1).unsqueeze(1);                               // (B, 1, T, hd)
  return Rope{angles.cos().to(dtype), angles.sin().to(dtype)};
}

torch::Tensor ApplyRope(const torch::Tensor& x, const Rope& rope) {
  return x * rope.cos + RotateHalf(x) * rope.sin;
}

torch::Tensor CausalMask(int64_t queries, int64_t keys, int64_t window, const torch::Device& device) {
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto query = torch::arange(keys - queries, keys, options).unsqueeze(1);  // (Tq, 1) positions
  auto key = torch::arange(keys, options).unsqueeze(0);                    // (1, Tk)
  auto mask = key.le(query);
  return window > 0 ? mask.logical_and(key.gt(query - window)) : mask;
}

torch::Tensor SlidingWindowMask(int64_t seq_len, int64_t window, const torch::Device& device) {
  return CausalMask(seq_len, seq_len, window, device);
}

torch::Tensor BlockCausalMask(const torch::Tensor& segments) {
  const int64_t t = segments.size(1);
  auto causal = torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(segments.device())).tril();
  auto same_document = segments.unsqueeze(2).eq(segments.unsqueeze(1));  // (B, T, T)
  return same_document.logical_and(causal).unsqueeze(1);
}

}  // namespace zen
