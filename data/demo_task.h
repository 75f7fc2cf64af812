// The embedded demo task (`data.source: demo`): two-number additions as chat conversations, generated
// deterministically and tokenized with the byte tokenizer exactly as `zen data prepare --format chat`
// would (Qwen's template, loss on the assistant's answer and its <|im_end|>), then packed into rows by
// the same packer as prepared shards (data/packed_rows.h). A fresh machine trains on it with no
// downloads, and the loss visibly falls.
#pragma once

#include <cstdint>
#include <vector>

#include "data/chat_template.h"
#include "data/packed_rows.h"
#include "data/source.h"

namespace zen {

// Conversation `index`: user "What is 23+58?", assistant "81".
std::vector<ChatTurn> DemoConversation(uint64_t seed, int64_t index);

// Conversations [0, examples), one document each, in the layout of one shard (data/shard_manifest.h).
struct DemoCorpus {
  std::vector<uint32_t> ids;
  std::vector<uint8_t> mask;
  std::vector<uint64_t> docs;  // examples + 1 offsets
};
DemoCorpus MakeDemoCorpus(uint64_t seed, int64_t examples);

class DemoTask : public DataSource {
 public:
  DemoTask(uint64_t seed, int64_t seq_len, int64_t examples, bool block_causal, double held_out_fraction = 0);
  DemoTask(const DemoTask&) = delete;  // rows_ points into corpus_
  DemoTask& operator=(const DemoTask&) = delete;

  Batch Rows(int64_t first, int64_t count) const override { return rows_.Rows(first, count); }
  std::optional<double> TokensPerEpoch() const override { return rows_.TokensPerEpoch(); }
  int64_t Windows() const { return rows_.Windows(); }
  int64_t HeldOutWindows() const override { return rows_.HeldOutWindows(); }
  Batch HeldOutRows(int64_t first, int64_t count) const override { return rows_.HeldOutRows(first, count); }

 private:
  DemoCorpus corpus_;
  PackedRows rows_;
};

}  // namespace zen
