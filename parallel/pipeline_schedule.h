// Pipeline-parallel schedules: in which order a stage runs the forwards and backwards of a step's
// micro-batches, and the point-to-point traffic between neighbouring stages that order implies.
//
//   GPipe: every forward, then every backward. A stage holds the activations of all M micro-batches.
//   1F1B (Megatron-Core's non-interleaved schedule): stage s of P runs min(P - s - 1, M) warm-up
//        forwards, then alternates one forward and one backward, then drains the remaining backwards.
//        A stage holds at most P - s micro-batches' activations, whatever M is.
// Both leave (P - 1) / (M + P - 1) of each stage's time idle (the bubble) when every stage costs the same;
// 1F1B's gain is memory, not time.
//
// Activations (B, T, C) go to the next stage and their gradients come back; shapes are known ahead from
// the micro-batch and the model, so no message carries a shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/status.h"
#include "parallel/communicator.h"

namespace zen {

enum class ScheduleKind { kGPipe, kOneFOneB };

// "gpipe" or "1f1b" (the recipe's parallel.schedule).
absl::StatusOr<ScheduleKind> ParseSchedule(const std::string& name);

struct PipelineAction {
  enum Op { kForward, kBackward } op;
  int64_t micro;  // micro-batch index, 0 .. M-1
  bool operator==(const PipelineAction& o) const { return op == o.op && micro == o.micro; }
};

// Stage `stage` of `stages`: its forwards and backwards of `micro` micro-batches, in order.
std::vector<PipelineAction> ScheduleOrder(ScheduleKind kind, int64_t stages, int64_t stage, int64_t micro);

// What a stage computes; the schedule decides when.
class PipelineStage {
 public:
  virtual ~PipelineStage() = default;
  // Forward of micro-batch `micro`. `input`: hidden (B, T, C) from the previous stage (undefined on the
  // first stage). Returns the hidden (B, T, C) for the next stage, or on the last stage the micro-batch's
  // loss as a 0-d tensor ready for backward (already scaled to the step's mean).
  virtual torch::Tensor Forward(int64_t micro, const torch::Tensor& input) = 0;
};

struct PipelineStats {
  double wait_s = 0;         // time blocked in point-to-point transfers: this stage's share of the bubble
  int64_t peak_in_flight = 0;  // most micro-batches whose forward was done and backward not yet
};

// Runs `micro` micro-batches through this stage in `kind`'s order over the pipeline group `pp` (rank =
// stage), leaving the gradients in the parameters. `activation`: shape and dtype of the (B, T, C)
// hidden passed between stages.
PipelineStats RunPipeline(ScheduleKind kind, PipelineStage& stage, Communicator& pp, int64_t micro,
                          const std::vector<int64_t>& activation_shape, torch::TensorOptions activation);

// Forwards only (evaluation: no activations kept for a backward): micro-batch m's activation has shape
// shapes[m], so sequences of different lengths can pass. The last stage's Forward results are dropped
// here (the stage keeps what it needs, e.g. its loss sums).
void RunForwardOnly(PipelineStage& stage, Communicator& pp, const std::vector<std::vector<int64_t>>& shapes,
                    torch::TensorOptions activation);

}  // namespace zen
