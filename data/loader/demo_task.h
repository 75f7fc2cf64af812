// The embedded demo task (`data.source: demo`): two-number additions as chat conversations, generated
// deterministically and tokenized with the byte tokenizer exactly as `zen data prepare --format chat`
// would (Qwen's template, loss on the assistant's answer and its <|im_end|>), then packed into rows by
// the same packer as prepared shards (data/loader/packed_rows.h). A fresh machine trains on it with no
// downloads, and the loss visibly falls.
//
// About one addend pair in ten is held out of every demo corpus, whatever the seed (IsDemoHeldOut), so a
// trained model's answers to those questions show whether it learned to add or only remembered: a demo
// run writes them to output_dir/demo_held_out.jsonl for `zen generate --input` (scripts/demo.sh).
#pragma once

#include <cstdint>
#include <vector>

#include "data/chat/chat_template.h"
#include "data/loader/packed_rows.h"
#include "data/loader/source.h"

namespace zen {

// Conversation `index`: user "What is 23+58?", assistant "81" (never a held-out pair).
std::vector<ChatTurn> DemoConversation(uint64_t seed, int64_t index);

// Whether the addends a + b (each 0..99) are held out: a hash of the pair, not of its digits, picks 1 in
// 10 (1,014 of the 10,000 pairs), and the other 8,986 still hold every sum and every pair of digits.
bool IsDemoHeldOut(int a, int b);

// The held-out pairs as conversations (user question, assistant answer), in order of (a, b).
std::vector<std::vector<ChatTurn>> DemoHeldOutConversations();

// Conversations [0, examples), one document each, in the layout of one shard (data/shards/shard_manifest.h).
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
