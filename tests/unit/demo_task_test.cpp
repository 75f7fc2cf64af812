// The embedded demo task: a generated chat corpus packed by the same packer as prepared shards.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <set>
#include <string>

#include "data/loader/demo_task.h"
#include "data/loader/shard_loader.h"
#include "data/prepare/prepare.h"
#include "data/tokenizer/byte_tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::TempDir;
using testing_data::WriteFile;

std::vector<int64_t> Row(const torch::Tensor& t, int64_t r) {
  const torch::Tensor row = t[r].contiguous();
  return {row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()};
}

TEST(ByteTokenizer, RoundTripsTextAndMatchesSpecialTokens) {
  ByteTokenizer tok;
  const std::string text = "<|im_start|>user\nhé<|im_end|>\n";
  const std::vector<int64_t> ids = tok.Encode(text);
  EXPECT_EQ(ids.front(), ByteTokenizer::kImStart);
  EXPECT_EQ(ids[ids.size() - 2], ByteTokenizer::kImEnd);
  EXPECT_EQ(tok.Decode(ids), text);
}

TEST(DemoTask, ConversationsAreAdditionsWithTheirSums) {
  for (int64_t i = 0; i < 200; ++i) {
    const std::vector<ChatTurn> turns = DemoConversation(/*seed=*/3, i);
    ASSERT_EQ(turns.size(), 2u);
    int a = -1, b = -1;
    ASSERT_EQ(std::sscanf(turns[0].content.c_str(), "What is %d+%d?", &a, &b), 2) << turns[0].content;
    EXPECT_EQ(turns[1].content, std::to_string(a + b));
  }
  EXPECT_NE(DemoConversation(3, 0)[0].content, DemoConversation(4, 0)[0].content);
}

// The held-out pairs are about a tenth of the 10,000, the same for every seed, and no seed's corpus asks
// one of them; what is left still asks every sum, so a held-out answer is never an unseen number.
TEST(DemoTask, HeldOutPairsNeverAppearInACorpus) {
  const std::vector<std::vector<ChatTurn>> held_out = DemoHeldOutConversations();
  EXPECT_GT(held_out.size(), 900u);
  EXPECT_LT(held_out.size(), 1100u);
  std::set<std::string> questions;
  for (const auto& turns : held_out) {
    int a = -1, b = -1;
    ASSERT_EQ(std::sscanf(turns[0].content.c_str(), "What is %d+%d?", &a, &b), 2) << turns[0].content;
    EXPECT_TRUE(IsDemoHeldOut(a, b)) << turns[0].content;
    EXPECT_EQ(turns[1].content, std::to_string(a + b));
    questions.insert(turns[0].content);
  }
  EXPECT_EQ(questions.size(), held_out.size());
  std::set<int> sums;
  for (uint64_t seed : {0, 1, 1234}) {
    for (int64_t i = 0; i < 20000; ++i) {
      const std::vector<ChatTurn> turns = DemoConversation(seed, i);
      ASSERT_EQ(questions.count(turns[0].content), 0u) << "seed " << seed << " conversation " << i << " is held out";
      sums.insert(std::stoi(turns[1].content));
    }
  }
  EXPECT_EQ(sums.size(), 199u);  // 0..198
}

TEST(DemoTask, SameRowsAreIdenticalAndDifferentRowsDiffer) {
  DemoTask task(/*seed=*/7, /*seq_len=*/64, /*examples=*/500, /*block_causal=*/true);
  const Batch a = task.Rows(3, 2), b = task.Rows(3, 2), c = task.Rows(5, 2);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.tokens, c.tokens));
  // A row does not depend on which batch it was fetched with.
  EXPECT_TRUE(torch::equal(task.Rows(4, 1).tokens[0], a.tokens[1]));
}

TEST(DemoTask, LabelsAreNextTokensOnAnswersOnlyAndPositionsRestartPerConversation) {
  DemoTask task(/*seed=*/1, /*seq_len=*/128, /*examples=*/100, /*block_causal=*/true);
  const Batch b = task.Rows(0, 4);
  ASSERT_TRUE(b.segments.defined());  // every row holds several conversations
  const ByteTokenizer bytes;
  for (int64_t r = 0; r < 4; ++r) {
    const auto tokens = Row(b.tokens, r), labels = Row(b.labels, r), positions = Row(b.positions, r),
               segments = Row(b.segments, r);
    for (size_t t = 0; t + 1 < tokens.size(); ++t) {
      // A conversation starts at <|im_start|>user, at position 0 (or at the window's start).
      if (segments[t + 1] != segments[t]) {
        EXPECT_EQ(positions[t + 1], 0) << t;
        EXPECT_EQ(labels[t], kIgnoreLabel) << "a label across a conversation's end at " << t;
      }
      if (labels[t] == kIgnoreLabel) continue;
      EXPECT_EQ(labels[t], tokens[t + 1]) << t;
      // Trained: the answer's digits and its <|im_end|>, nothing of the prompt.
      EXPECT_TRUE(std::isdigit(static_cast<int>(labels[t])) || labels[t] == ByteTokenizer::kImEnd) << t;
    }
  }
  EXPECT_GT(b.LossTokens(), 0);
  EXPECT_LT(b.LossTokens(), 4 * 128 / 8);
}

TEST(DemoTask, AnEpochIsTheCorpusCutIntoWindows) {
  const DemoCorpus corpus = MakeDemoCorpus(/*seed=*/5, /*examples=*/300);
  ASSERT_EQ(corpus.docs.size(), 301u);
  EXPECT_EQ(corpus.docs.back(), corpus.ids.size());
  DemoTask task(5, /*seq_len=*/32, 300, true);
  EXPECT_EQ(task.Windows(), (static_cast<int64_t>(corpus.ids.size()) + 31) / 32);
  EXPECT_EQ(*task.TokensPerEpoch(), static_cast<double>(task.Windows() * 32));
}

// The demo corpus written as chat JSONL and prepared like any user's data reads back as the same rows:
// the demo task is a data source of the shard pipeline, not a path of its own.
TEST(DemoTask, RowsEqualThoseOfItsConversationsPreparedAsShards) {
  const uint64_t seed = 11;
  const int64_t examples = 400, seq_len = 48;
  TempDir tmp;
  std::string lines;
  for (int64_t i = 0; i < examples; ++i) {
    const std::vector<ChatTurn> turns = DemoConversation(seed, i);
    lines += R"({"messages": [{"role": "user", "content": ")" + turns[0].content +
             R"("}, {"role": "assistant", "content": ")" + turns[1].content + "\"}]}\n";
  }
  WriteFile(tmp / "demo.jsonl", lines);
  PrepareOptions prepare;
  prepare.inputs = {tmp / "demo.jsonl"};
  prepare.output_dir = tmp / "shards";
  prepare.format = "chat";
  prepare.tokens_per_shard = 1000;  // several shards, so windows cross shard boundaries
  const auto report = PrepareData(prepare);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_GT(report->shards, 1);

  ShardLoaderOptions load;
  load.dir = prepare.output_dir;
  load.seq_len = seq_len;
  load.seed = seed;
  auto shards = ShardDataSource::Open(load);
  ASSERT_TRUE(shards.ok()) << shards.status();
  DemoTask demo(seed, seq_len, examples, /*block_causal=*/true);
  ASSERT_EQ(demo.Windows(), (*shards)->Windows());
  // Every window of the first epoch and some of the second (reshuffled).
  const int64_t rows = demo.Windows() + 7;
  const Batch a = demo.Rows(0, rows), b = (*shards)->Rows(0, rows);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_TRUE(torch::equal(a.positions, b.positions));
  ASSERT_TRUE(a.segments.defined() && b.segments.defined());
  EXPECT_TRUE(torch::equal(a.segments, b.segments));
}

}  // namespace
}  // namespace zen
