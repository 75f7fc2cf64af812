// Planning a run before launching it (`zen plan`): for every layout tp × cp × pp × ep × dp of a cluster, the
// memory one rank needs for the recipe's model and training settings, which layouts fit a GPU, and how
// long the recipe's token budget takes at a given MFU. Estimates from the shapes, not measurements: what
// each term assumes, and where it is known to be high or low, is in docs/plan.md.
//
// It models what this trainer does (trainer/rank_setup.cpp, parallel/, models/), under the memory
// options below (MemoryOptions: bf16 parameters, recompute, sequence parallelism, chunked loss); routed
// experts are spread over the expert group, which folds over tp x dp (never replicated); the activation
// and logits coefficients are the ones measured on CPU
// (tests/cli/plan_matches_measured.sh checks the whole prediction against peak_memory_bytes):
//   weights   fp32, or bf16 under param_dtype=bf16, LoRA's frozen base included;
//   grads     in the parameters' dtype, trainable parameters only (LoRA: the adapters; else everything);
//   AdamW     exp_avg + exp_avg_sq in fp32 (+ an fp32 master under bf16 parameters) for the trainable
//             parameters a rank owns (ZeRO-1: 1/dp);
//   sharding  as the layers split them: attention, dense MLP, shared expert and vocabulary by tp; norms
//             and router whole on every tp rank; routed experts by ep; layers by pp (the cost-
//             balanced split the trainer chooses); a tied embedding copied onto the last stage when pp > 1;
//   context   activations of T/cp positions per row; attention's scores and mask T/cp × T, and the other
//             ranks' keys and values gathered and saved per layer (parallel/context_parallel.h).
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

// What a recipe tells the trainer to do to save memory (train.param_dtype, train.recompute,
// train.recompute_layers, parallel.sequence, train.loss_chunk_tokens). The planner evaluates any
// combination; MakePlan searches them per layout unless told to take the recipe's as they are.
struct MemoryOptions {
  bool bf16_params = false;        // parameters stored in bf16; trainable ones keep fp32 masters in AdamW
  std::string recompute = "none";  // none | selective (attention core) | full (keep each layer's input)
  int64_t recompute_layers = 0;    // under full: the first N layers of each stage (0 = all of them)
  bool sequence_parallel = false;  // activations outside the tensor-parallel regions split by tp (tp > 1)
  int64_t loss_chunk_tokens = 0;   // cross entropy over chunks of this many tokens (0 = the micro-batch)
  std::string Describe() const;    // "bf16 params, full recompute, SP, loss chunks of 4096" or "none"
};

// The options the recipe sets.
MemoryOptions RecipeMemoryOptions(const Recipe& recipe);

struct ClusterSpec {
  int64_t nodes = 1;
  int64_t gpus_per_node = 8;
  double gpu_memory_bytes = 80.0 * (int64_t{1} << 30);
  double headroom = 0.10;         // kept free for the CUDA context, NCCL buffers and fragmentation
  double peak_flops = 989e12;     // per GPU: H100 / H200 dense bf16
  double mfu = 0.4;
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

// Bytes decoder layer `layer` keeps for the backward of one micro-batch when nothing is recomputed (see
// plan.cpp for the measured coefficients), on a rank of tensor-parallel degree `tp`.
double ActivationBytesPerLayer(const Recipe& recipe, const MemoryOptions& options, int64_t layer, int64_t tp);

// Micro-batches whose activations stage `stage` of `stages` holds at once under parallel.schedule
// (1F1B: min(stages - stage, micro); GPipe: micro), as parallel/pipeline_schedule.cpp orders them.
int64_t InFlightMicroBatches(const std::string& schedule, int64_t stages, int64_t stage, int64_t micro);

// Bytes on one rank, by kind.
struct RankMemory {
  double weights = 0;          // parameters in their storage dtype
  double autocast_copies = 0;  // train.dtype=bf16 over fp32 parameters: the bf16 copy of every matmul
                               // weight a forward saves for its backward, one per in-flight micro-batch
  double gradients = 0;        // trainable parameters, in their dtype
  double optimizer = 0;        // AdamW's two fp32 moments (+ fp32 masters of bf16 parameters), owned share
  double activations = 0;      // saved by the layers (and the attention masks), every in-flight micro-batch
  double logits = 0;           // last stage: the cross entropy's fp32 (tokens, V/tp) tensors at its peak
  double buffers = 0;          // dp > 1: what the gradient bucket (a flat copy of up to 32 MiB) adds to the peak
  double Total() const {
    return weights + autocast_copies + gradients + optimizer + activations + logits + buffers;
  }
};

// The rank of `stage` under `layout` with `micro` micro-batches per step and data-parallel rank.
RankMemory StageMemory(const Recipe& recipe, const MemoryOptions& options, const Layout& layout, int64_t stage,
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
  MemoryOptions options;      // what this layout runs with (the cheapest that fits, when searched)
  bool fits = false;          // memory.Total() <= the cluster's usable bytes
  // Why the trainer refuses the recipe's global batch on this layout ("" = it accepts it). The memory
  // above then assumes the smallest global batch the layout accepts (pp micro-batches under 1F1B, else 1).
  std::string batch_issue;
  double bubble = 0;          // pipeline idle share (pp - 1) / (micro + pp - 1)
  int64_t ModelParallel() const { return layout.tp * layout.cp * layout.pp * layout.ep; }
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

// How MakePlan treats the memory options and which layouts it considers.
struct PlanSearch {
  MemoryOptions options;         // the starting point (RecipeMemoryOptions)
  bool search = true;            // per layout, the first of: as given, + chunked loss, + sequence parallel,
                                 // + selective recompute, + full recompute, that fits; false: as given
  std::optional<Layout> layout;  // only this tp, cp, pp, ep (dp = world / (tp × cp × pp))
};

// Every candidate layout of `cluster` for `recipe`: tp in {1, 2, 4, 8} dividing gpus_per_node (tensor
// parallelism stays inside a node), cp in powers of two for rows of 8K positions or more (or when the
// recipe sets parallel.context; each rank then holds T/cp of every row), pp dividing model.layers, ep
// dividing the experts and tp × cp × dp (MoE only: the expert group folds over a stage's ranks),
// dp = world / (tp × cp × pp), each checked by the
// trainer's own CheckLayout. `dataset_tokens`: one epoch's tokens when known (bounds the steps as in
// `zen validate`).
Plan MakePlan(const Recipe& recipe, const ClusterSpec& cluster, std::optional<double> dataset_tokens = std::nullopt,
              const PlanSearch& search = PlanSearch{});

}  // namespace zen
