// The embedded demo task (`data.source: demo`): two-number additions in Qwen's chat format, generated
// deterministically, tokenized with the byte tokenizer, loss on the assistant's answer only.
// A fresh machine trains on it with no downloads, and the loss visibly falls.
#pragma once

#include <string>

#include "data/source.h"

namespace zen {

// One conversation: "<|im_start|>user\nWhat is 23+58?<|im_end|>\n<|im_start|>assistant\n81<|im_end|>\n".
struct DemoExample {
  std::string prompt;  // up to and including "<|im_start|>assistant\n"
  std::string answer;  // "81<|im_end|>\n"
};

DemoExample MakeDemoExample(uint64_t seed, int64_t index);

class DemoTask : public DataSource {
 public:
  DemoTask(uint64_t seed, int64_t seq_len) : seed_(seed), seq_len_(seq_len) {}
  Batch Rows(int64_t first, int64_t count) const override;

 private:
  uint64_t seed_;
  int64_t seq_len_;
};

}  // namespace zen
