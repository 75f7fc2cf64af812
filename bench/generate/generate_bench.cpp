// Greedy generation throughput of a random Qwen3 (models/generation.h) in one process: new tokens per
// second with the KV cache and with the prefix recomputed for every token, on the same model and prompt.
// Prints one JSON line per mode: the best (least) seconds of --repeats runs after one warm-up.
//
// usage: generate_bench [--layers 2] [--hidden 256] [--heads 4] [--kv-heads 2] [--ffn 768] [--vocab 4096]
//                       [--prompt-tokens 16] [--new-tokens 128] [--repeats 3] [--threads 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench/bench_args.h"     // defines: ParseIntArgs
#include "models/generation.h"  // defines: Generate, GenerateOptions
#include "models/qwen3.h"       // defines: Qwen3

int main(int argc, char** argv) {
  auto a = zen::bench::ParseIntArgs(argc, argv, "generate_bench",
                                    {{"layers", 2}, {"hidden", 256}, {"heads", 4}, {"kv-heads", 2}, {"ffn", 768},
                                     {"vocab", 4096}, {"prompt-tokens", 16}, {"new-tokens", 128}, {"repeats", 3},
                                     {"threads", 1}});
  torch::set_num_threads(static_cast<int>(a["threads"]));
  zen::ModelSpec spec;
  spec.layers = a["layers"];
  spec.hidden = a["hidden"];
  spec.heads = a["heads"];
  spec.kv_heads = a["kv-heads"];
  spec.ffn = a["ffn"];
  spec.vocab = a["vocab"];
  torch::manual_seed(1);
  zen::Qwen3 model(spec);
  const auto drawn = torch::randint(0, spec.vocab, {a["prompt-tokens"]}, torch::kLong);
  const std::vector<int64_t> prompt(drawn.data_ptr<int64_t>(), drawn.data_ptr<int64_t>() + drawn.numel());
  for (bool cache : {true, false}) {
    zen::GenerateOptions options;
    options.max_new_tokens = a["new-tokens"];
    options.use_cache = cache;
    double best = 1e30;
    for (int64_t r = 0; r <= a["repeats"]; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const auto ids = zen::Generate(model, prompt, options);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (static_cast<int64_t>(ids.size()) != options.max_new_tokens) std::exit(1);
      if (r > 0) best = std::min(best, s);  // run 0 warms up
    }
    std::printf("{\"impl\": \"zen\", \"cache\": %s, \"layers\": %ld, \"hidden\": %ld, \"new_tokens\": %ld, "
                "\"seconds\": %.4f, \"tokens_per_s\": %.1f}\n",
                cache ? "true" : "false", static_cast<long>(spec.layers), static_cast<long>(spec.hidden),
                static_cast<long>(options.max_new_tokens), best, options.max_new_tokens / best);
    std::fflush(stdout);
  }
  return 0;
}
