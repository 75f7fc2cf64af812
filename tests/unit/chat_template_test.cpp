// Chat rendering and loss masks, and fill-in-the-middle: with the built-in byte tokenizer (no files),
// and with Qwen3's tokenizer where tokens merge across the turn boundaries.
#include <gtest/gtest.h>

#include "data/chat/chat_template.h"
#include "data/tokenizer/bpe_tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

const std::vector<ChatTurn> kConversation = {
    {"system", "Be brief."}, {"user", "hi"}, {"assistant", "yo"}, {"user", "more?"}, {"assistant", "ok"}};

// The text of the trained tokens, in order.
std::string TrainedText(const Tokenizer& tokenizer, const TokenizedDocument& doc) {
  std::vector<int32_t> trained;
  for (size_t t = 0; t < doc.ids.size(); ++t) {
    if (doc.mask[t]) trained.push_back(doc.ids[t]);
  }
  return tokenizer.Decode(trained);
}

std::unique_ptr<Tokenizer> Bytes() { return *OpenTokenizer("bytes"); }

TEST(ChatTemplate, RendersQwenTurnsWithImStartAndImEnd) {
  const auto tok = Bytes();
  const TokenizedDocument doc = EncodeChat(*tok, {{"user", "hi"}, {"assistant", "yo"}}, LossMask::kAssistant);
  EXPECT_EQ(tok->Decode(doc.ids), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n");
  EXPECT_EQ(doc.mask.size(), doc.ids.size());
}

TEST(ChatTemplate, AssistantMaskTrainsAssistantContentAndItsImEndOnly) {
  const auto tok = Bytes();
  const TokenizedDocument doc = EncodeChat(*tok, kConversation, LossMask::kAssistant);
  EXPECT_EQ(TrainedText(*tok, doc), "yo<|im_end|>ok<|im_end|>");
}

TEST(ChatTemplate, LastMaskTrainsOnlyTheFinalAssistantTurn) {
  const auto tok = Bytes();
  EXPECT_EQ(TrainedText(*tok, EncodeChat(*tok, kConversation, LossMask::kLast)), "ok<|im_end|>");
}

TEST(ChatTemplate, AllMaskTrainsEveryToken) {
  const auto tok = Bytes();
  const TokenizedDocument doc = EncodeChat(*tok, kConversation, LossMask::kAll);
  EXPECT_EQ(doc.LossTokens(), static_cast<int64_t>(doc.ids.size()));
}

TEST(ChatTemplate, BadRecordsNameTheField) {
  auto missing = ChatTurnsFromJson(nlohmann::json::parse(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant"}]})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("messages[1].content"), std::string::npos) << missing.status();
  EXPECT_FALSE(ChatTurnsFromJson(nlohmann::json::parse(R"({"text": "not a chat"})")).ok());
  EXPECT_FALSE(ChatTurnsFromJson(nlohmann::json::parse(R"({"messages": []})")).ok());
  EXPECT_FALSE(ParseLossMask("some").ok());
}

TEST(ChatTemplate, Qwen3MaskFollowsTokensThatMergeAcrossTheHeader) {
  const std::string dir = testing_data::Qwen3TokenizerDir();
  if (dir.empty()) GTEST_SKIP() << testing_data::kNoQwen3;
  auto tok = OpenTokenizer(dir + "/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "assistant\n" + "\n\nAnswer" tokenizes with the newlines merged: the merged token starts in the
  // header, so it is not trained; everything from "Answer" on is.
  const std::vector<ChatTurn> turns = {{"user", "Q?"}, {"assistant", "\n\nAnswer: 42 caf\xc3\xa9"}};
  const TokenizedDocument doc = EncodeChat(**tok, turns, LossMask::kAssistant);
  const std::string whole = "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n\n\nAnswer: 42 caf\xc3\xa9<|im_end|>\n";
  EXPECT_EQ(doc.ids, (*tok)->Encode(whole));
  EXPECT_EQ(TrainedText(**tok, doc), "Answer: 42 caf\xc3\xa9<|im_end|>");
}

TEST(Fim, RateOneRearrangesIntoPrefixSuffixMiddle) {
  const std::string text = "def add(a, b):\n    return a + b\n";
  for (uint64_t doc = 0; doc < 50; ++doc) {
    const std::string fim = MaybeRearrangeForFim(text, {1.0, 7}, doc);
    const size_t p = fim.find(kFimPrefix), s = fim.find(kFimSuffix), m = fim.find(kFimMiddle);
    ASSERT_TRUE(p == 0 && p < s && s < m && m != std::string::npos) << fim;
    const std::string prefix = fim.substr(14, s - 14), suffix = fim.substr(s + 14, m - s - 14), middle = fim.substr(m + 14);
    EXPECT_EQ(prefix + middle + suffix, text);
  }
}

TEST(Fim, RateChoosesDocumentsDeterministicallyAtAboutThatRate) {
  int rearranged = 0;
  for (uint64_t doc = 0; doc < 2000; ++doc) {
    const std::string fim = MaybeRearrangeForFim("some code", {0.25, 3}, doc);
    EXPECT_EQ(fim, MaybeRearrangeForFim("some code", {0.25, 3}, doc));
    rearranged += fim != "some code";
  }
  EXPECT_NEAR(rearranged / 2000.0, 0.25, 0.04);
  EXPECT_EQ(MaybeRearrangeForFim("text", {0.0, 3}, 1), "text");
}

TEST(Fim, CutsOnlyAtCharacterBoundaries) {
  const std::string text = "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xc3\xa9";  // é日😀é
  for (uint64_t doc = 0; doc < 100; ++doc) {
    const std::string fim = MaybeRearrangeForFim(text, {1.0, 1}, doc);
    const size_t s = fim.find(kFimSuffix), m = fim.find(kFimMiddle);
    for (const std::string& part : {fim.substr(14, s - 14), fim.substr(s + 14, m - s - 14), fim.substr(m + 14)}) {
      EXPECT_TRUE(part.empty() || (static_cast<unsigned char>(part[0]) & 0xC0) != 0x80) << doc;
    }
  }
}

}  // namespace
}  // namespace zen
