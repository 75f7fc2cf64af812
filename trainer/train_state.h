// What one rank holds during a run: its groups, its share of the model, its optimizer, its data.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "checkpoints/checkpoint.h"
#include "core/recipe.h"
#include "data/loader/source.h"
#include "models/qwen3.h"
#include "parallel/communicator.h"
#include "parallel/data_parallel.h"
#include "parallel/grid.h"
#include "parallel/pipeline_schedule.h"
#include "parallel/tp_gradients.h"
#include "trainer/adamw.h"

namespace zen {

struct TrainState {
  explicit TrainState(const Recipe& r) : recipe(r) {}

  const Recipe& recipe;
  std::unique_ptr<Communicator> world;
  std::unique_ptr<Grid> grid;
  torch::Device device = torch::kCPU;
  Qwen3 model{nullptr};
  std::vector<std::pair<std::string, torch::Tensor>> trainable;  // (name, parameter)
  TpParamGroups tp_params;         // every trainable parameter but the routed experts'
  TpParamGroups expert_tp_params;  // the routed experts' (differ across the expert group)
  std::unique_ptr<GradientBuckets> dp_buckets;   // summed over dp
  std::unique_ptr<GradientBuckets> edp_buckets;  // experts: summed over the expert-data-parallel group
  std::unique_ptr<AdamW> optimizer;     // over this rank's parameters (all of them without ZeRO-1)
  std::vector<int64_t> owners;          // ZeRO-1: the dp rank that updates each trainable parameter
  ScheduleKind schedule = ScheduleKind::kOneFOneB;
  torch::Tensor tied_embedding;  // pp > 1 with tied embeddings: this end's copy (first or last stage)
  int64_t tied_peer = -1;        // the pipeline rank holding the other copy
  std::unique_ptr<DataSource> data;
  std::unique_ptr<AsyncCheckpointWriter> async_checkpoint;
  std::vector<BaseFile> base_files;  // adapter-only checkpoints: the fingerprint of the base loaded at setup  // checkpoint.async: the save in flight
  int64_t total_steps = 0;
  int64_t start_step = 0;      // steps already done (resumed from a checkpoint)
  int64_t skipped_before = 0;  // non-finite steps skipped before the resumed checkpoint
  double best_eval_loss = 1e300;  // eval.keep_best: the lowest eval_loss saved so far (this run)
  bool poison_loss = false;  // test hook (ZEN_TEST_FAULT=...:nan): the loss becomes NaN
};

struct StepResult {
  double loss = 0;       // mean next-token loss over the global batch's unmasked tokens
  double grad_norm = 0;  // global L2 norm before clipping
  int64_t loss_tokens = 0;
  bool finite = true;    // false: the update was skipped
  double pipeline_wait_s = 0;  // time this rank sat blocked on pipeline transfers (its bubble)
  // MoE models: the aux terms as added to the objective (mean per micro-batch, summed over layers), the
  // share of routed token choices per expert over all layers, and choices dropped by the capacity limit.
  double aux_loss = 0;
  std::vector<double> expert_load;
  int64_t dropped_tokens = 0;
  // Per MoE layer of the model, in layer order (every stage's, on every rank): the most loaded expert's
  // choices over the mean (1 = balanced, E = one expert takes all), dropped choices, and the router's
  // mean entropy over tokens (log E = uniform probabilities).
  std::vector<int64_t> moe_layers;  // the model's layer index of each
  std::vector<double> load_imbalance, router_entropy;
  std::vector<int64_t> layer_dropped_tokens;
  int64_t peak_in_flight = 0;  // most micro-batches whose activations this stage held at once
};

// One optimizer step of the global batch (this rank's share of it): forward and backward over its
// micro-batches in the pipeline schedule, gradient sync (tp partial sums, tied embedding, dp sums),
// clipping, AdamW.
StepResult RunStep(TrainState& state, int64_t step, double lr);

}  // namespace zen
