// The ModelSpec a transformers Qwen3 / Qwen3-MoE config.json describes, for the oracle tests. core/ has
// the real reader (core/hf_config.h); this one keeps the oracles independent of it.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/recipe.h"  // defines: ModelSpec

namespace zen::testing {

inline ModelSpec SpecFromHfConfig(const std::string& path) {
  const auto c = nlohmann::json::parse(std::ifstream(path));
  ModelSpec spec;
  spec.layers = c["num_hidden_layers"];
  spec.hidden = c["hidden_size"];
  spec.heads = c["num_attention_heads"];
  spec.kv_heads = c["num_key_value_heads"];
  spec.head_dim = c["head_dim"];
  spec.ffn = c["intermediate_size"];
  spec.vocab = c["vocab_size"];
  spec.max_position = c["max_position_embeddings"];
  spec.norm_eps = c["rms_norm_eps"];
  spec.rope_theta = c.contains("rope_parameters") ? c["rope_parameters"]["rope_theta"] : c["rope_theta"];
  spec.tie_embeddings = c.value("tie_word_embeddings", true);
  if (c.value("use_sliding_window", false) && c["sliding_window"].is_number()) {
    spec.sliding_window = c["sliding_window"];
    for (size_t l = 0; l < c["layer_types"].size(); ++l) {
      if (c["layer_types"][l] == "sliding_attention") spec.sliding_layers.push_back(static_cast<int64_t>(l));
    }
  }
  // Qwen3-MoE (transformers 5 writes num_experts as num_local_experts).
  if (c.contains("num_local_experts") || c.contains("num_experts")) {
    spec.experts = c.contains("num_local_experts") ? c["num_local_experts"] : c["num_experts"];
    spec.top_k = c["num_experts_per_tok"];
    spec.expert_ffn = c["moe_intermediate_size"];
    spec.moe_every = c["decoder_sparse_step"];
  }
  return spec;
}

}  // namespace zen::testing
