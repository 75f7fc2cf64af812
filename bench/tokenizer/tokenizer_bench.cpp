// Encode throughput of zen's tokenizer: reads JSON lines {"text"} (one document each), encodes all of
// them `--repeat` times on `--threads` threads, and prints one JSON line with the best pass:
//   {"threads": N, "bytes": ..., "tokens": ..., "seconds": ..., "mb_per_s": ...}
// The first pass warms the per-thread piece caches, as the `tokenizers` side gets a warm-up pass too.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/common/worker_pool.h"
#include "data/tokenizer/tokenizer.h"

namespace {

struct Args {
  std::string tokenizer = "bytes", input;
  int threads = 1, repeat = 3;
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--tokenizer") a->tokenizer = value;
    else if (flag == "--input") a->input = value;
    else if (flag == "--threads") a->threads = std::stoi(value);
    else if (flag == "--repeat") a->repeat = std::stoi(value);
    else return false;
  }
  return !a->input.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!Parse(argc, argv, &args)) {
    std::fprintf(stderr, "usage: zen_tokenizer_bench --input TEXTS.jsonl [--tokenizer PATH] [--threads N] [--repeat R]\n");
    return 2;
  }
  auto tokenizer = zen::OpenTokenizer(args.tokenizer);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return 2;
  }
  std::vector<std::string> texts;
  int64_t bytes = 0;
  std::ifstream in(args.input);
  for (std::string line; std::getline(in, line);) {
    texts.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
    bytes += static_cast<int64_t>(texts.back().size());
  }
  zen::WorkerPool pool(args.threads);
  double best = 1e30;
  std::atomic<int64_t> tokens{0};
  for (int pass = 0; pass <= args.repeat; ++pass) {  // pass 0 warms up
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    pool.ParallelFor(texts.size(), [&](size_t i) { tokens += static_cast<int64_t>((*tokenizer)->Encode(texts[i]).size()); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (pass > 0) best = std::min(best, seconds);
  }
  const nlohmann::json result = {{"threads", pool.Threads()}, {"bytes", bytes},    {"tokens", tokens.load()},
                                 {"seconds", best},           {"mb_per_s", bytes / 1e6 / best}};
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
