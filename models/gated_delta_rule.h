// The gated delta rule of Gated DeltaNet (Yang et al. 2024), as Hugging Face transformers' Qwen3-Next computes
// it (torch_chunk_gated_delta_rule / torch_recurrent_gated_delta_rule), in fp32 libtorch ops so that autograd
// gives the backward. Per value head, with state S (dk x dv), S_0 = initial state or 0:
//   S_t = e^{g_t} (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T,     o_t = S_t^T q_t
// after q, k are repeated to the value heads (value head j reads key head j / (Hv / Hk)), L2-normalised over
// dk (eps 1e-6) and q scaled by 1/sqrt(dk).
//
// Packed documents: `documents` (B, T) int64 gives each position's document (any ids; a new document starts
// wherever the id changes). The state is reset at each document start, so every document sees exactly what
// it would see alone (the first document starts from the initial state).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace zen {

// documents (B, T) any ids -> (B, T) int64 0, 1, 2, ...: a new index wherever the id changes.
torch::Tensor DocumentIndex(const torch::Tensor& documents);

struct DeltaRuleOutput {
  torch::Tensor out;    // (B, T, Hv, dv), q's dtype
  torch::Tensor state;  // (B, Hv, dk, dv) fp32: S_T, the state after the last position
};

// q, k: (B, T, Hk, dk); v: (B, T, Hv, dv); g (log-decay, <= 0) and beta: (B, T, Hv).
// initial_state: (B, Hv, dk, dv) or undefined (zeros); documents: (B, T) or undefined (one document).
//
// Chunked form for training and prefill: the sequence is padded to a multiple of `chunk` and each chunk
// solves its intra-chunk recurrence as a unit-lower-triangular system (the WY/UT transform), then the state
// is carried chunk to chunk. Document boundaries inside a chunk mask the intra-chunk decays and the reads
// and writes of the carried state.
DeltaRuleOutput ChunkGatedDeltaRule(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& g, const torch::Tensor& beta,
                                    const torch::Tensor& initial_state = {}, const torch::Tensor& documents = {},
                                    int64_t chunk = 64);

// The literal step-by-step recurrence (single-token decoding, and the reference the chunked form must equal).
DeltaRuleOutput RecurrentGatedDeltaRule(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        const torch::Tensor& g, const torch::Tensor& beta,
                                        const torch::Tensor& initial_state = {},
                                        const torch::Tensor& documents = {});

}  // namespace zen
