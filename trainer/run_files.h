// The files a run writes at its start (CONTRACT.md): config.resolved.yaml and run.json, and for the demo
// task (data.source: demo) demo_held_out.jsonl, the questions its corpus leaves out.
#pragma once

#include <string>
#include <vector>

#include "core/recipe.h"
#include "core/status.h"
#include "parallel/world.h"

namespace zen {

// What one rank holds, for run.json's "ranks" list.
struct RankShare {
  int64_t rank = 0, tp = 0, pp = 0, ep = 0, dp = 0;
  int64_t params = 0;            // parameters this rank holds
  int64_t trainable_params = 0;  // of which trainable
  int64_t optimizer_state = 0;   // elements of Adam moments this rank keeps (1/dp of them under ZeRO-1)
  int64_t first_layer = 0, end_layer = 0;  // its pipeline stage's layers [first, end)
};

// Creates output_dir. With train.resume=false, an output_dir that already holds a run is BadInput.
// A run resumed at `resumed_step` > 0 keeps metrics.jsonl's lines up to that step (a crash may have left
// later ones) and appends; a fresh run moves an earlier metrics.jsonl aside.
absl::Status PrepareOutputDir(const Recipe& recipe, int64_t resumed_step = 0);

// Writes config.resolved.yaml, run.json and, on the demo task, demo_held_out.jsonl: one line
// {"prompt": "What is 0+18?", "answer": "18"} per held-out pair (data/loader/demo_task.h), the input of
// `zen generate --chat --input` that scripts/demo.sh scores.
absl::Status WriteRunFiles(const Recipe& recipe, const WorldInfo& world, const std::vector<RankShare>& ranks);

}  // namespace zen
