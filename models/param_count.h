// Parameter counts from the architecture alone (no tensors), so they work for a 480B-parameter spec.
// They count the whole model (all ranks together), in doubles.
#pragma once

#include "core/recipe.h"  // defines: ModelSpec, LoraSpec

namespace zen {

struct ParamCounts {
  double total = 0;      // every parameter
  double active = 0;     // used per token: MoE layers count top_k experts (+ router, shared expert)
  double embedding = 0;  // the input embedding (vocab * hidden), included in both figures above
  double encoders = 0;   // Zen-Omni's vision and audio encoders with their projectors, in both figures
};

// Per layer: q/k/v/o projections, q_norm and k_norm (head_dim each), two layer norms, and either the
// dense SwiGLU (3 * hidden * ffn) or, on MoE layers (spec.IsMoeLayer), the router (hidden * experts),
// every expert's SwiGLU (3 * hidden * expert_ffn) and the shared expert (3 * hidden * shared_ffn, when
// > 0; its (1 x hidden) gate where spec.shared_expert_gate). Qwen3-Next's linear_attention layers hold the
// Gated DeltaNet instead of q/k/v/o and the q/k norms: in_proj_qkvz, in_proj_ba, out_proj, the conv over the
// q, k, v channels (kernel dims each), A_log and dt_bias (one per value head) and the gated norm
// (value head dim); its gated_attention q_proj is twice as wide (query and gate). Qwen3-Next's
// multi-token-prediction head (mtp.*) is not part of the model zen builds and is not counted.
// Cross-modal layers add their cross-attention (4 linears, a norm, a gate). Plus the embedding, the
// final norm, lm_head unless tied, and a multimodal model's encoders and projectors (every sample with
// media runs them, so they count as active too).
ParamCounts CountParams(const ModelSpec& spec);

// The adapter parameters LoRA adds: rank * (in + out) per adapted linear, over the targets as
// models/lora.h resolves them (q, k, v, o, gate, up, down: the attention and dense-MLP linears;
// router: hidden -> experts on MoE layers; experts.*.wi: gate and up of every expert; wo or
// experts.*.wo: down of every expert; experts.*.mlp: all three; shared: the shared expert's three).
// Unknown targets count nothing (ResolveLoraTargets reports them); 0 when LoRA is disabled.
double CountLoraParams(const ModelSpec& spec, const LoraSpec& lora);

// Forward FLOPs per token of layer `layer` at sequence length `seq_len`: 2 per weight of the linears a
// token passes through (top_k experts on MoE layers) plus causal attention's score and value products
// (2 * 2 * seq_len/2 * heads * head_dim). The pipeline's cost model: backward is a fixed multiple.
double LayerFlopsPerToken(const ModelSpec& spec, int64_t layer, int64_t seq_len);

// Forward FLOPs per token of the output head (2 * hidden * vocab); what the last stage pays on top.
double HeadFlopsPerToken(const ModelSpec& spec);

}  // namespace zen
