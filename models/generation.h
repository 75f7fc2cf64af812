// Text generation with a whole Qwen3 in one process: greedy decoding or sampling (temperature, top-k,
// top-p, as transformers' logits warpers, applied in that order) from a seeded generator, continued
// token by token over the KV cache (Qwen3Impl::forward_cached) or, for comparison, by recomputing the
// whole prefix for every token.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "models/qwen3.h"  // defines: Qwen3

namespace zen {

struct GenerateOptions {
  int64_t max_new_tokens = 128;
  double temperature = 0;        // 0 = greedy (argmax)
  int64_t top_k = 0;             // keep the k most likely tokens; 0 = all
  double top_p = 1.0;            // keep the fewest most likely tokens whose probability reaches top_p
  uint64_t seed = 0;             // sampling's generator
  std::vector<int64_t> stop_ids; // generation ends after emitting one of these
  bool use_cache = true;         // false: recompute the prefix for every new token
};

// The next token from one position's logits (V) under `options`, drawing from `generator` when sampling.
int64_t ChooseToken(const torch::Tensor& logits, const GenerateOptions& options, torch::Generator& generator);

// Continues `prompt` (non-empty ids) and returns the new ids, the stop id included when one ended the
// generation; also stops at max_new_tokens or when the sequence reaches the model's max_position (when
// set). `on_token` sees each new id as it is chosen. Runs under NoGradGuard in eval mode; the model
// stays in eval mode.
std::vector<int64_t> Generate(Qwen3& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token = nullptr);

}  // namespace zen
