// Forward + backward throughput of zen's MoE block (models/moe.h) on random tokens. Under mpirun the
// experts are spread over all ranks (expert parallelism) and every rank routes its own `--tokens`.
// Prints one JSON line (rank 0): median seconds per iteration and tokens/s per rank and in total.
//
// --lora-rank R > 0 attaches LoRA (alpha 2R) to every expert projection and freezes the base weights, as a
// LoRA run on the experts does; --loop 1 runs the experts one by one (the path before grouped GEMMs).
//
// usage: moe_layer_bench [--tokens 4096] [--hidden 512] [--experts 8] [--top-k 2] [--expert-ffn 1024]
//                        [--iters 10] [--threads 1] [--lora-rank 0] [--loop 0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench/bench_args.h"     // defines: ParseIntArgs
#include "models/init.h"
#include "models/moe.h"
#include "parallel/communicator.h"

int main(int argc, char** argv) {
  auto a = zen::bench::ParseIntArgs(argc, argv, "moe_layer_bench",
                                    {{"tokens", 4096}, {"hidden", 512}, {"experts", 8}, {"top-k", 2},
                                     {"expert-ffn", 1024}, {"iters", 10}, {"threads", 1}, {"lora-rank", 0},
                                     {"loop", 0}});
  torch::set_num_threads(static_cast<int>(a["threads"]));
  std::unique_ptr<zen::Communicator> world = zen::MpiWorld(/*timeout_s=*/300);
  zen::ModelSpec spec;
  spec.hidden = a["hidden"];
  spec.heads = 1;
  spec.experts = a["experts"];
  spec.top_k = a["top-k"];
  spec.expert_ffn = a["expert-ffn"];
  auto stats = std::make_shared<zen::MoeStats>();
  zen::MoeSpec moe;
  zen::MoeBlock block(spec, moe, zen::TpGroup{}, zen::EpGroup{world.get(), world->rank(), world->size()}, stats);
  zen::InitParameters(*block, /*seed=*/1, zen::TpGroup{});
  const int64_t rank = a["lora-rank"];
  if (rank > 0) {
    for (auto& p : block->parameters()) p.requires_grad_(false);
    for (zen::Qwen3Mlp& e : block->experts) {
      e->gate_proj->AttachLora(rank, 2.0, 0.0);
      e->up_proj->AttachLora(rank, 2.0, 0.0);
      e->down_proj->AttachLora(rank, 2.0, 0.0);
    }
  }
  block->UsePerExpertLoop(a["loop"] != 0);
  torch::manual_seed(10 + world->rank());
  torch::Tensor x = torch::randn({1, a["tokens"], spec.hidden}).requires_grad_(true);
  std::vector<double> seconds;
  for (int64_t i = 0; i < a["iters"] + 2; ++i) {
    stats->Reset(spec.experts);
    world->Barrier();
    const auto start = std::chrono::steady_clock::now();
    block(x).square().mean().backward();
    world->Barrier();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i >= 2) seconds.push_back(s);  // two warm-up iterations
    for (auto& p : block->parameters()) p.mutable_grad() = torch::Tensor();
    x.mutable_grad() = torch::Tensor();
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  if (world->rank() == 0) {
    std::printf(
        "{\"impl\": \"%s\", \"ranks\": %ld, \"tokens_per_rank\": %ld, \"median_s\": %.6f, \"tokens_per_s_per_rank\": "
        "%.1f, \"tokens_per_s_total\": %.1f}\n",
        a["loop"] != 0 ? "zen-loop" : "zen", static_cast<long>(world->size()), static_cast<long>(a["tokens"]), median, a["tokens"] / median,
        a["tokens"] * world->size() / median);
  }
  world.reset();
  zen::FinalizeMpi();
  return 0;
}
