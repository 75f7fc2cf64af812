#include "data/demo_task.h"

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/byte_tokenizer.h"

namespace zen {

DemoExample MakeDemoExample(uint64_t seed, int64_t index) {
  std::seed_seq seq{seed, static_cast<uint64_t>(index), uint64_t{0x7a656e}};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<int> number(0, 99);
  const int a = number(rng), b = number(rng);
  return {absl::StrCat("<|im_start|>user\nWhat is ", a, "+", b, "?<|im_end|>\n<|im_start|>assistant\n"),
          absl::StrCat(a + b, "<|im_end|>\n")};
}

Batch DemoTask::Rows(int64_t first, int64_t count) const {
  const ByteTokenizer tokenizer;
  // Each row packs whole examples from its own index range, so a row never depends on its neighbours.
  auto tokens = torch::empty({count, seq_len_}, torch::kInt64);
  auto labels = torch::empty({count, seq_len_}, torch::kInt64);
  auto tok = tokens.accessor<int64_t, 2>();
  auto lab = labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < count; ++r) {
    std::vector<int64_t> ids;
    std::vector<bool> trained;  // whether predicting this token earns loss (answer tokens only)
    for (int64_t k = 0; static_cast<int64_t>(ids.size()) <= seq_len_; ++k) {
      const DemoExample ex = MakeDemoExample(seed_, ((first + r) << 20) + k);
      for (int64_t id : tokenizer.Encode(ex.prompt)) ids.push_back(id), trained.push_back(false);
      for (int64_t id : tokenizer.Encode(ex.answer)) ids.push_back(id), trained.push_back(true);
    }
    for (int64_t t = 0; t < seq_len_; ++t) {
      tok[r][t] = ids[t];
      lab[r][t] = trained[t + 1] ? ids[t + 1] : kIgnoreLabel;
    }
  }
  auto positions = torch::arange(seq_len_, torch::kInt64).unsqueeze(0).expand({count, seq_len_}).contiguous();
  return {tokens, labels, positions};
}

}  // namespace zen
