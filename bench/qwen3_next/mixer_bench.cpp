// Forward + backward time of one Qwen3-Next token mixer of zen on random tokens: the Gated DeltaNet layer
// (models/gated_deltanet.h, the chunked gated delta rule: linear in T) or the gated full-attention layer
// (models/qwen3_next_blocks.h, causal SDPA: quadratic in T), on max(1, tokens-per-iteration / T) sequences
// of length T. The loss is mean(y²); the input's gradient is computed too, as inside a model. Prints one
// JSON line: the median wall and process-CPU seconds per iteration after one warm-up (with one intra-op
// thread the CPU time is what the run costs, whatever else the machine runs).
//
// usage: qwen3_next_mixer_bench [--mixer 0] [--tokens 1024] [--tokens-per-iteration 4096] [--hidden 2048]
//          [--key-heads 2] [--value-heads 4] [--key-head-dim 128] [--value-head-dim 128]   (--mixer 0: DeltaNet)
//          [--heads 2] [--kv-heads 1] [--head-dim 256]                                    (--mixer 1: attention)
//          [--iters 3] [--threads 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include <torch/torch.h>

#include "bench/bench_args.h"          // defines: ParseIntArgs
#include "models/gated_deltanet.h"     // defines: GatedDeltaNet, GatedDeltaNetSpec
#include "models/init.h"               // defines: InitParameters
#include "models/layer_inputs.h"       // defines: LayerInputs
#include "models/qwen3_next_blocks.h"  // defines: GatedAttention, RotaryDim

namespace {

// The mixer --mixer names, its parameters drawn by their init rules (A_log log-uniform, dt_bias 1, ...).
std::shared_ptr<zen::TokenMixer> MakeMixer(std::map<std::string, int64_t>& a) {
  std::shared_ptr<zen::TokenMixer> mixer;
  if (a["mixer"] == 0) {
    zen::GatedDeltaNetSpec spec;
    spec.hidden = a["hidden"];
    spec.key_heads = a["key-heads"];
    spec.value_heads = a["value-heads"];
    spec.key_head_dim = a["key-head-dim"];
    spec.value_head_dim = a["value-head-dim"];
    mixer = zen::GatedDeltaNet(spec, zen::TpGroup{}).ptr();
  } else {
    zen::ModelSpec spec;  // Qwen3-Next: partial_rotary_factor 0.25, rope_theta 1e7
    spec.hidden = a["hidden"];
    spec.heads = a["heads"];
    spec.kv_heads = a["kv-heads"];
    spec.head_dim = a["head-dim"];
    spec.rope_theta = 1e7;
    mixer = zen::GatedAttention(spec, zen::RotaryDim(spec.head_dim, 0.25), zen::TpGroup{}).ptr();
  }
  zen::InitParameters(*mixer, /*seed=*/1, zen::TpGroup{});
  return mixer;
}

double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  auto a = zen::bench::ParseIntArgs(argc, argv, "qwen3_next_mixer_bench",
                                    {{"mixer", 0}, {"tokens", 1024}, {"tokens-per-iteration", 4096}, {"hidden", 2048},
                                     {"key-heads", 2}, {"value-heads", 4}, {"key-head-dim", 128},
                                     {"value-head-dim", 128}, {"heads", 2}, {"kv-heads", 1}, {"head-dim", 256},
                                     {"iters", 3}, {"threads", 1}});
  torch::set_num_threads(static_cast<int>(a["threads"]));
  std::shared_ptr<zen::TokenMixer> mixer = MakeMixer(a);
  torch::manual_seed(10);
  const int64_t t = a["tokens"], b = std::max<int64_t>(1, a["tokens-per-iteration"] / t);
  torch::Tensor x = torch::randn({b, t, a["hidden"]}).requires_grad_(true);
  // One call's inputs, shared by every iteration as by every layer of a model (RoPE built once).
  zen::LayerInputs in(x, torch::arange(t).unsqueeze(0).expand({b, t}));
  std::vector<double> wall, cpu;
  for (int64_t i = 0; i < a["iters"] + 1; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    mixer->forward(x, in, nullptr).square().mean().backward();
    if (i >= 1) {  // one warm-up iteration
      cpu.push_back(CpuSeconds() - cpu_start);
      wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    x.mutable_grad() = torch::Tensor();
    for (auto& p : mixer->parameters()) p.mutable_grad() = torch::Tensor();
  }
  std::printf("{\"impl\": \"zen\", \"mixer\": \"%s\", \"tokens\": %ld, \"batch\": %ld, \"threads\": %ld, "
              "\"median_s\": %.6f, \"median_cpu_s\": %.6f}\n",
              a["mixer"] == 0 ? "gated_deltanet" : "gated_attention", static_cast<long>(t), static_cast<long>(b),
              static_cast<long>(a["threads"]), Median(wall), Median(cpu));
  return 0;
}
