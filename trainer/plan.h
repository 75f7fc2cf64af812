// Planning a run before launching it (`zen plan`): for every layout tp × pp × ep × dp of a cluster, the
// memory one rank needs for the recipe's model and training settings, which layouts fit a GPU, and how
// long the recipe's token budget takes at a given MFU. Estimates from the shapes, not measurements: what
// each term assumes, and where it is known to be high or low, is in docs/plan.md.
//
// It models what this trainer does (trainer/rank_setup.cpp, parallel/, models/):
//   weights   fp32 on every rank, even under bf16 (autocast computes in bf16; the parameters are the
//             fp32 master weights), LoRA's frozen base included;
//   grads     fp32, trainable parameters only (LoRA: the adapters; full fine-tuning: everything);
//   AdamW     exp_avg + exp_avg_sq in fp32 for the trainable parameters a rank owns (ZeRO-1: 1/dp);
//   sharding  as the layers split them: attention, dense MLP, shared expert and vocabulary by tp; norms,
//             router and routed experts whole on every tp rank; experts by ep; layers by pp (the cost-
//             balanced split the trainer chooses); a tied embedding copied onto the last stage when pp > 1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/recipe.h"          // defines: Recipe, ModelSpec, LoraSpec
#include "core/status.h"
#include "models/param_count.h"   // defines: ParamCounts
#include "models/qwen3.h"         // defines: StageRange
#include "parallel/grid.h"        // defines: Layout

namespace zen {

struct ClusterSpec {
  int64_t nodes = 1;
  int64_t gpus_per_node = 8;
  double gpu_memory_bytes = 80.0 * (int64_t{1} << 30);
  double headroom = 0.10;         // kept free for the CUDA context, NCCL buffers and fragmentation
  double peak_flops = 989e12;     // per GPU: H100 / H200 dense bf16
  double mfu = 0.4;
  bool fused_attention = false;   // attention keeps no s × s scores (flash / memory-efficient SDPA)
  int64_t World() const { return nodes * gpus_per_node; }
  double UsableBytes() const { return gpu_memory_bytes * (1.0 - headroom); }
};

// "80GiB", "80GB", "1.5TiB", "512 MiB": bytes. Units MiB, GiB, TiB (powers of 2) and MB, GB, TB
// (powers of 10), any case; a bare number or a non-positive size is BadInput.
absl::StatusOr<double> ParseMemorySize(const std::string& text);

// Parameters one rank holds, in elements.
struct StageParams {
  double weights = 0;    // everything the rank holds (LoRA adapters included)
  double trainable = 0;  // with gradients and AdamW state: the adapters under LoRA, else all
  double matmul = 0;     // weights of the linears and the output head (what autocast copies to bf16)
};

// A rank (any tp rank, any ep rank) of `layout` holding `stage`. Parameters models/param_count.h counts
// beyond the decoder (a multimodal model's encoders and cross-modal layers) go whole to stage 0.
StageParams CountStageParams(const ModelSpec& spec, const LoraSpec& lora, const Layout& layout,
                             const StageRange& stage);

// Bytes one decoder layer keeps for the backward of one micro-batch (see plan.cpp for the formula).
double ActivationBytesPerLayer(const ModelSpec& spec, const TrainSpec& train, int64_t tp, bool fused_attention);

// Micro-batches whose activations stage `stage` of `stages` holds at once under parallel.schedule
// (1F1B: min(stages - stage, micro); GPipe: micro), as parallel/pipeline_schedule.cpp orders them.
int64_t InFlightMicroBatches(const std::string& schedule, int64_t stages, int64_t stage, int64_t micro);

// Bytes on one rank, by kind.
struct RankMemory {
  double weights = 0;          // fp32 parameters
  double autocast_copies = 0;  // bf16 only: the bf16 copy of every matmul weight a forward saves for its
                               // backward, one per in-flight micro-batch
  double gradients = 0;        // fp32, trainable parameters
  double optimizer = 0;        // AdamW's two fp32 moments of the trainable parameters this rank owns
  double activations = 0;      // saved by the layers, every in-flight micro-batch
  double logits = 0;           // last stage: fp32 vocab-parallel logits, every in-flight micro-batch
  double Total() const { return weights + autocast_copies + gradients + optimizer + activations + logits; }
};

// The rank of `stage` under `layout` with `micro` micro-batches per step and data-parallel rank.
RankMemory StageMemory(const Recipe& recipe, const ClusterSpec& cluster, const Layout& layout, int64_t stage,
                       int64_t micro);

// 464M, 4.33B, 3.63T: a count for people.
std::string HumanCount(double v);

// Training FLOPs (forward + backward) per token; `formula` (optional) gets the arithmetic spelled out.
double FlopsPerToken(const Recipe& recipe, std::string* formula = nullptr);

struct LayoutPlan {
  Layout layout;
  int64_t micro_batches = 0;  // per data-parallel rank and step (see batch_issue)
  int64_t peak_stage = 0;     // the pipeline stage whose ranks need the most memory
  int64_t stage_layers = 0;   // decoder layers that stage holds
  int64_t in_flight = 0;      // micro-batches whose activations that stage holds at once
  RankMemory memory;          // of a rank of peak_stage
  bool fits = false;          // memory.Total() <= the cluster's usable bytes
  // Why the trainer refuses the recipe's global batch on this layout ("" = it accepts it). The memory
  // above then assumes the smallest global batch the layout accepts (pp micro-batches under 1F1B, else 1).
  std::string batch_issue;
  double bubble = 0;          // pipeline idle share (pp - 1) / (micro + pp - 1)
  int64_t ModelParallel() const { return layout.tp * layout.pp * layout.ep; }
};

struct RejectedLayout {
  Layout layout;
  std::string reason;  // parallel/grid.cpp's CheckLayout message
};

struct Plan {
  ClusterSpec cluster;
  ParamCounts params;
  double params_trainable = 0;
  std::vector<LayoutPlan> layouts;      // best first: fitting and accepted, by fewest model-parallel ranks
                                        // (tp × pp × ep), then most dp; then the rest by memory
  std::vector<RejectedLayout> rejected;  // candidates the model's shapes rule out
  int64_t tokens_per_step = 0;
  int64_t total_steps = 0;             // core/derived.h's TotalSteps: 0 = unbounded
  double tokens = 0;                   // total_steps × tokens_per_step
  double flops_per_token = 0;
  std::string flops_formula;
  double seconds = 0;                  // tokens × flops_per_token / (world × peak × mfu)
  const LayoutPlan* Best() const;      // the first layout that fits and runs as is; nullptr when none
};

// Every candidate layout of `cluster` for `recipe`: tp in {1, 2, 4, 8} dividing gpus_per_node (tensor
// parallelism stays inside a node), pp dividing model.layers, ep dividing the experts and dp (MoE only),
// dp = world / (tp × pp), each checked by the trainer's own CheckLayout. `dataset_tokens`: one epoch's
// tokens when known (bounds the steps as in `zen validate`).
Plan MakePlan(const Recipe& recipe, const ClusterSpec& cluster, std::optional<double> dataset_tokens = std::nullopt);

}  // namespace zen
