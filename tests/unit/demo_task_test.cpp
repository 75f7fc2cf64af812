// The embedded demo task: deterministic rows, labels only on the assistant's answers.
#include <gtest/gtest.h>

#include "data/byte_tokenizer.h"
#include "data/demo_task.h"

namespace zen {
namespace {

TEST(ByteTokenizer, RoundTripsTextAndMatchesSpecialTokens) {
  ByteTokenizer tok;
  const std::string text = "<|im_start|>user\nhé<|im_end|>\n";
  const std::vector<int64_t> ids = tok.Encode(text);
  EXPECT_EQ(ids.front(), ByteTokenizer::kImStart);
  EXPECT_EQ(ids[ids.size() - 2], ByteTokenizer::kImEnd);
  EXPECT_EQ(tok.Decode(ids), text);
}

TEST(DemoTask, SameRowsAreIdenticalAndDifferentRowsDiffer) {
  DemoTask task(/*seed=*/7, /*seq_len=*/64);
  const Batch a = task.Rows(3, 2), b = task.Rows(3, 2), c = task.Rows(5, 2);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.tokens, c.tokens));
  // A row does not depend on which batch it was fetched with.
  EXPECT_TRUE(torch::equal(task.Rows(4, 1).tokens[0], a.tokens[1]));
}

TEST(DemoTask, LabelsAreNextTokensOnAnswersOnly) {
  DemoTask task(/*seed=*/1, /*seq_len=*/128);
  const Batch b = task.Rows(0, 1);
  const std::string example_prompt = MakeDemoExample(1, 0).prompt;
  const std::string example_answer = MakeDemoExample(1, 0).answer;
  const int64_t prompt_len = ByteTokenizer().Encode(example_prompt).size();
  const int64_t answer_len = ByteTokenizer().Encode(example_answer).size();
  auto labels = b.labels[0];
  auto tokens = b.tokens[0];
  // Positions inside the prompt (except the last, which predicts the answer's first token) earn no loss.
  for (int64_t t = 0; t + 1 < prompt_len; ++t) EXPECT_EQ(labels[t].item<int64_t>(), kIgnoreLabel) << t;
  for (int64_t t = prompt_len - 1; t < prompt_len - 1 + answer_len; ++t) {
    EXPECT_EQ(labels[t].item<int64_t>(), tokens[t + 1].item<int64_t>()) << t;
  }
  EXPECT_GT(b.LossTokens(), 0);
  EXPECT_LT(b.LossTokens(), 128 / 3);
}

}  // namespace
}  // namespace zen
