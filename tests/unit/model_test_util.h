// Helpers for the model, LoRA and checkpoint tests: tiny specs, positions, error measures.
#pragma once

#include <algorithm>
#include <string>

#include <torch/torch.h>

#include "core/recipe.h"        // defines: ModelSpec, LoraSpec
#include "data/loader/batch.h"  // defines: kIgnoreLabel

namespace zen::testing {

// A model small enough to build in milliseconds, with grouped KV heads (4 query heads, 2 KV heads).
inline ModelSpec TinySpec(bool tied = true, int64_t kv_heads = 2) {
  ModelSpec spec;
  spec.name = "tiny";
  spec.layers = 2;
  spec.hidden = 32;
  spec.heads = 4;
  spec.kv_heads = kv_heads;
  spec.head_dim = 8;
  spec.ffn = 48;
  spec.vocab = 64;
  spec.max_position = 128;
  spec.tie_embeddings = tied;
  return spec;
}

inline LoraSpec TinyLora(std::vector<std::string> targets, int64_t rank = 4, double alpha = 8) {
  LoraSpec lora;
  lora.enabled = true;
  lora.rank = rank;
  lora.alpha = alpha;
  lora.targets = std::move(targets);
  return lora;
}

// (B, T) positions 0..T-1 for every sequence.
inline torch::Tensor Positions(int64_t batch, int64_t seq_len) {
  return torch::arange(seq_len, torch::kLong).unsqueeze(0).expand({batch, seq_len}).contiguous();
}

// Next-token labels for `tokens` (B, T): tokens[:, 1:], then kIgnoreLabel at the last position.
inline torch::Tensor ShiftedLabels(const torch::Tensor& tokens) {
  auto tail = torch::full({tokens.size(0), 1}, kIgnoreLabel, torch::kLong);
  return torch::cat({tokens.slice(1, 1), tail}, 1);
}

// max |got - want| / max |want|: an error relative to the tensor's scale, not to values near zero.
inline double MaxRelativeError(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = std::max(want.abs().max().item<double>(), 1e-30);
  return (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>() / scale;
}

}  // namespace zen::testing
