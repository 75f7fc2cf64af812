// Chat rendering and loss masks, and fill-in-the-middle: with the built-in byte tokenizer (no files),
// and with Qwen3's tokenizer where tokens merge across the turn boundaries. The plain template keeps
// assistant content as written; Qwen3's (checked against transformers in chat_template_oracle_test.cpp)
// adds think blocks.
#include <gtest/gtest.h>

#include "data/chat/chat_template.h"
#include "data/chat/python_json.h"
#include "data/tokenizer/bpe_tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

constexpr ChatTemplate kPlain = ChatTemplate::kPlain;

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
  const TokenizedDocument doc = EncodeChat(*tok, {{"user", "hi"}, {"assistant", "yo"}}, LossMask::kAssistant, {}, kPlain);
  EXPECT_EQ(tok->Decode(doc.ids), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n");
  EXPECT_EQ(doc.mask.size(), doc.ids.size());
}

TEST(ChatTemplate, AssistantMaskTrainsAssistantContentAndItsImEndOnly) {
  const auto tok = Bytes();
  const TokenizedDocument doc = EncodeChat(*tok, kConversation, LossMask::kAssistant, {}, kPlain);
  EXPECT_EQ(TrainedText(*tok, doc), "yo<|im_end|>ok<|im_end|>");
}

TEST(ChatTemplate, LastMaskTrainsOnlyTheFinalAssistantTurn) {
  const auto tok = Bytes();
  EXPECT_EQ(TrainedText(*tok, EncodeChat(*tok, kConversation, LossMask::kLast, {}, kPlain)), "ok<|im_end|>");
}

TEST(ChatTemplate, AllMaskTrainsEveryToken) {
  const auto tok = Bytes();
  const TokenizedDocument doc = EncodeChat(*tok, kConversation, LossMask::kAll, {}, kPlain);
  EXPECT_EQ(doc.LossTokens(), static_cast<int64_t>(doc.ids.size()));
}

TEST(ChatTemplate, BadRecordsNameTheField) {
  auto error = [](const char* record) {
    auto parsed = ConversationFromJson(nlohmann::ordered_json::parse(record));
    return parsed.ok() ? std::string("ok") : std::string(parsed.status().message());
  };
  EXPECT_NE(error(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant"}]})").find("messages[1].content"),
            std::string::npos);
  EXPECT_NE(error(R"({"text": "not a chat"})"), "ok");
  EXPECT_NE(error(R"({"messages": []})"), "ok");
  EXPECT_NE(error(R"({"messages": [{"role": "developer", "content": "a"}]})").find("messages[0].role: \"developer\""),
            std::string::npos);
  EXPECT_NE(error(R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"function": {"arguments": {}}}]}]})")
                .find("messages[0].tool_calls[0].function.name"),
            std::string::npos);
  EXPECT_NE(error(R"({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"name": "f"}]}]})")
                .find("messages[0].tool_calls[0].arguments"),
            std::string::npos);
  EXPECT_NE(error(R"({"messages": [{"role": "user", "content": "a"}], "tools": {"f": 1}})").find("tools"), std::string::npos);
  EXPECT_NE(error(R"({"messages": [{"role": "assistant", "content": "a", "reasoning_content": 3}]})")
                .find("messages[0].reasoning_content"),
            std::string::npos);
  // An assistant turn that only calls tools may have no content (OpenAI writes null).
  EXPECT_EQ(error(R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"name": "f", "arguments": "{}"}]}]})"),
            "ok");
  EXPECT_FALSE(ParseLossMask("some").ok());
  EXPECT_FALSE(ParseChatTemplate("chatml").ok());
}

// Qwen3's template: the final assistant turn carries a think block (empty without reasoning), and it is
// trained with the answer; reasoning before the last user query is dropped.
TEST(ChatTemplate, Qwen3FinalTurnTrainsItsThinkBlock) {
  const auto tok = Bytes();
  std::vector<ChatTurn> turns = kConversation;
  turns[2].reasoning = "dropped";
  const TokenizedDocument doc = EncodeChat(*tok, turns, LossMask::kAssistant);
  EXPECT_EQ(TrainedText(*tok, doc), "yo<|im_end|><think>\n\n</think>\n\nok<|im_end|>");
  EXPECT_EQ(tok->Decode(doc.ids).find("dropped"), std::string::npos);
}

const std::vector<ChatTurn> kToolUse = {
    {"user", "weather?"},
    {"assistant", "", "look it up", {{"get_weather", "{\"city\": \"Oslo\"}"}}},
    {"tool", "rain"},
    {"tool", "5C"},
    {"assistant", "Rainy, 5C."}};

TEST(ChatTemplate, ToolResultsMergeIntoOneUserTurnAndAreNeverTrained) {
  const auto tok = Bytes();
  const std::string text = RenderChat(kToolUse);
  EXPECT_NE(text.find("<|im_start|>user\n<tool_response>\nrain\n</tool_response>\n<tool_response>\n5C\n"
                      "</tool_response><|im_end|>\n"),
            std::string::npos)
      << text;
  for (const LossMask mask : {LossMask::kAll, LossMask::kAssistant, LossMask::kLast}) {
    const std::string trained = TrainedText(*tok, EncodeChat(*tok, kToolUse, mask));
    EXPECT_EQ(trained.find("rain"), std::string::npos) << trained;
    EXPECT_EQ(trained.find("5C\n"), std::string::npos) << trained;
    EXPECT_NE(trained.find("Rainy, 5C.<|im_end|>"), std::string::npos) << trained;
  }
  // The tool call and its reasoning (after the last query, so kept) are the model's output: trained.
  EXPECT_EQ(TrainedText(*tok, EncodeChat(*tok, kToolUse, LossMask::kAssistant)),
            "<think>\nlook it up\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
            "{\"city\": \"Oslo\"}}\n</tool_call><|im_end|><think>\n\n</think>\n\nRainy, 5C.<|im_end|>");
}

TEST(ChatTemplate, ToolsGoInTheSystemTurnTrainedOnlyUnderAll) {
  const auto tok = Bytes();
  Conversation c = {{"system", "Be brief."}, {"user", "hi"}, {"assistant", "yo"}};
  c.tools = {PythonJsonDumps(nlohmann::ordered_json::parse(R"({"name": "f", "parameters": {}})"))};
  const std::string text = RenderChat(c);
  EXPECT_EQ(text.rfind("<|im_start|>system\nBe brief.\n\n# Tools\n", 0), 0u) << text;
  EXPECT_NE(text.find("<tools>\n{\"name\": \"f\", \"parameters\": {}}\n</tools>"), std::string::npos) << text;
  EXPECT_EQ(TrainedText(*tok, EncodeChat(*tok, c, LossMask::kAll)).rfind("<|im_start|>system\nBe brief.", 0), 0u);
  EXPECT_EQ(TrainedText(*tok, EncodeChat(*tok, c, LossMask::kAssistant)), "<think>\n\n</think>\n\nyo<|im_end|>");
}

TEST(ChatTemplate, PlainKeepsAssistantContentAsWritten) {
  const std::vector<ChatTurn> turns = {{"user", "q"}, {"assistant", "<think>\nhm\n</think>\n\nA", "ignored"}};
  EXPECT_EQ(RenderChat(turns, kPlain), "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nhm\n</think>\n\nA<|im_end|>\n");
  EXPECT_EQ(RenderChat(turns), "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nignored\n</think>\n\n<think>\nhm\n</think>\n\nA<|im_end|>\n");
}

TEST(ChatTemplate, GenerationPromptWithThinkingOffEndsInAnEmptyThinkBlock) {
  const std::vector<ChatTurn> turns = {{"user", "q"}};
  EXPECT_EQ(RenderChat(turns, ChatTemplate::kQwen3, true), "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(turns, ChatTemplate::kQwen3, true, false),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

// Python's json.dumps(value, ensure_ascii=False), which the template's tojson is.
TEST(PythonJson, WritesAsPythonJsonDumps) {
  const auto dumps = [](const char* json) { return PythonJsonDumps(nlohmann::ordered_json::parse(json)); };
  EXPECT_EQ(dumps(R"({"b": 1.5, "a": "\u00e9\n\u0001\"\\/", "c": [true, null, -7, {}], "d": []})"),
            "{\"b\": 1.5, \"a\": \"\xc3\xa9\\n\\u0001\\\"\\\\/\", \"c\": [true, null, -7, {}], \"d\": []}");
  EXPECT_EQ(dumps("[1e16, 1e15, 0.0001, 1e-05, 100.0, 0.1, 2.5e-07, -3.0, 1.7976931348623157e308]"),
            "[1e+16, 1000000000000000.0, 0.0001, 1e-05, 100.0, 0.1, 2.5e-07, -3.0, 1.7976931348623157e+308]");
}

TEST(ChatTemplate, Qwen3MaskFollowsTokensThatMergeAcrossTheHeader) {
  const std::string dir = testing_data::Qwen3TokenizerDir();
  if (dir.empty()) GTEST_SKIP() << testing_data::kNoQwen3;
  auto tok = OpenTokenizer(dir + "/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  // "assistant\n" + "\n\nAnswer" tokenizes with the newlines merged: the merged token starts in the
  // header, so it is not trained; everything from "Answer" on is.
  const std::vector<ChatTurn> turns = {{"user", "Q?"}, {"assistant", "\n\nAnswer: 42 caf\xc3\xa9"}};
  const TokenizedDocument doc = EncodeChat(**tok, turns, LossMask::kAssistant, {}, kPlain);
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
