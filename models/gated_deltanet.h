// Qwen3-Next's linear-attention token mixer (Hugging Face Qwen3NextGatedDeltaNet), written from parallel/
// layers so that tensor parallelism splits it by key-head group (a group = one key head and the Hv/Hk value
// heads that read it):
//   in_proj_qkvz: x -> per key-head group [q (dk) | k (dk) | v (r dv) | z (r dv)], r = Hv / Hk (group-major,
//                 HF's fix_query_key_value_ordering), so a tp rank's rows are whole groups;
//   in_proj_ba:   x -> per group [b (r) | a (r)];  beta = sigmoid(b), g = -exp(A_log) softplus(a + dt_bias);
//   causal depthwise conv (kernel K, no bias) + SiLU over the channels [q all | k all | v all];
//   the gated delta rule (models/gated_delta_rule.h), chunked for training and prefill, the recurrence for
//   one-token decoding;
//   norm: per value head RMSNormGated (weight init 1, not zero-centred) times SiLU(z); out_proj.
// Parameters (HF names): in_proj_qkvz, in_proj_ba, out_proj (.weight), conv1d.weight (C, 1, K), A_log,
// dt_bias (Hv), norm.weight (dv). A_log and dt_bias follow their value heads (split on dim 0). The conv
// channels follow their heads too, but HF stores them [q all | k all | v all], so a rank's channels are three
// separate runs, not one slice: conv1d.weight is held whole, each rank reads its channels, and its gradient is
// partial over tp (every rank's rows are its own; the sum is the whole gradient). It is 4 values a channel.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "models/token_mixer.h"  // defines: TokenMixer, LayerInputs, LayerCache, RecurrentState
#include "parallel/layers.h"       // defines: ColumnParallelLinear, RowParallelLinear, ParamModule
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// The shapes of one Gated DeltaNet layer (HF config keys linear_*).
struct GatedDeltaNetSpec {
  int64_t hidden = 0;
  int64_t key_heads = 0;       // linear_num_key_heads
  int64_t value_heads = 0;     // linear_num_value_heads (a multiple of key_heads)
  int64_t key_head_dim = 0;    // linear_key_head_dim
  int64_t value_head_dim = 0;  // linear_value_head_dim
  int64_t conv_kernel = 4;     // linear_conv_kernel_dim
  double norm_eps = 1e-6;
  int64_t chunk = 64;          // chunk length of the chunked rule
};

// RMSNormGated: w * (x / rms(x)) (cast back to x's dtype) * silu(gate) in fp32, cast to x's dtype.
class GatedRmsNormImpl : public ParamModule {
 public:
  GatedRmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over = {});
  // x, gate: (..., dim) -> (..., dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gate);

  torch::Tensor weight;  // (dim), ones

 private:
  double eps_;
};
TORCH_MODULE(GatedRmsNorm);

// The depthwise causal conv's weight (C, 1, K), held whole (see above); forward reads this rank's channels.
class CausalConv1dImpl : public ParamModule {
 public:
  // channels: the full channel count; runs: this rank's channels as [begin, length) runs of the full order.
  CausalConv1dImpl(int64_t channels, int64_t kernel, std::vector<std::pair<int64_t, int64_t>> runs, bool partial_over_tp);
  // x: (B, T, c) this rank's channels -> (B, T, c), out_t = sum_j w[K-1-j] x_{t-j}: taps before a document's
  // start (documents (B, T), or undefined) read 0; with `window` the taps before t = 0 read its K - 1 stored
  // inputs, and it is replaced by the last K - 1.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& documents, torch::Tensor* window);

  torch::Tensor weight;  // (C, 1, K)

 private:
  std::vector<std::pair<int64_t, int64_t>> runs_;
};
TORCH_MODULE(CausalConv1d);

// A token mixer (models/token_mixer.h): it reads the call's segments and, in generation, its layer's
// RecurrentState (conv: the last K - 1 conv inputs (B, channels/tp, K - 1); state: S (B, Hv/tp, dk, dv) fp32).
class GatedDeltaNetImpl : public TokenMixer {
 public:
  GatedDeltaNetImpl(const GatedDeltaNetSpec& spec, const TpGroup& tp);
  // x: (B, T, C) -> (B, T, C): Mix with in.segments() and, with `cache`, its RecurrentState.
  torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) override;
  // documents: (B, T) ids of packed documents (state and conv window reset where the id changes), or
  // undefined. With `cache` (generation; documents undefined) the call continues from the cached conv
  // window and state and leaves them after its last position: one new token runs the recurrence, several
  // the chunked rule.
  torch::Tensor Mix(const torch::Tensor& x, const torch::Tensor& documents = {}, RecurrentState* cache = nullptr);

  ColumnParallelLinear in_proj_qkvz{nullptr}, in_proj_ba{nullptr};
  CausalConv1d conv1d{nullptr};
  RowParallelLinear out_proj{nullptr};
  GatedRmsNorm norm{nullptr};
  torch::Tensor A_log, dt_bias;  // (Hv/tp)

 private:
  GatedDeltaNetSpec spec_;
  int64_t local_key_heads_, local_value_heads_;
};
TORCH_MODULE(GatedDeltaNet);

}  // namespace zen
