// Qwen3's chat template against transformers' apply_chat_template (tests/oracle/chat_template_oracle.py,
// with the template in tests/fixtures/): generated records with every feature the template has (system,
// tools, tool calls, tool results, reasoning_content, inline <think>, multi-turn, generation prompts)
// must render to the same text, and, with Qwen3's tokenizer, the same ids.
#include <random>

#include <gtest/gtest.h>

#include "data/chat/chat_template.h"
#include "data/tokenizer/tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

// Random records: each feature is drawn on its own, so the records cover their combinations.
class RecordGenerator {
 public:
  explicit RecordGenerator(uint32_t seed) : rng_(seed) {}

  Json Record() {
    Json record = {{"messages", Json::array()}};
    if (Chance(0.5)) record["tools"] = Tools();
    Json& messages = record["messages"];  // after the last key is added: ordered_json's keys live in a vector
    if (Chance(0.5)) messages.push_back({{"role", "system"}, {"content", Text()}});
    const int exchanges = Pick(1, 3);
    for (int e = 0; e < exchanges; ++e) {
      messages.push_back({{"role", "user"}, {"content", Text()}});
      if (Chance(0.15)) messages.push_back({{"role", "system"}, {"content", Text()}});
      const int steps = Pick(0, 2);  // tool-call rounds before the answer
      for (int s = 0; s < steps; ++s) {
        messages.push_back(Assistant(/*calls=*/true));
        const int results = Pick(1, 3);
        for (int r = 0; r < results; ++r) messages.push_back({{"role", "tool"}, {"content", Text()}});
        // A user turn holding only a tool response written by hand does not count as a query.
        if (Chance(0.2)) messages.push_back({{"role", "user"}, {"content", "<tool_response>\n" + Text() + "\n</tool_response>"}});
      }
      if (e + 1 < exchanges || Chance(0.8)) messages.push_back(Assistant(/*calls=*/Chance(0.2)));
    }
    if (messages.back()["role"] != "assistant" || Chance(0.2)) {  // a prompt: adding keys ends `messages`
      record["add_generation_prompt"] = true;
      if (Chance(0.7)) record["enable_thinking"] = Chance(0.5);
    }
    return record;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& OneOf(const std::vector<T>& items) { return items[Pick(0, static_cast<int>(items.size()) - 1)]; }

  std::string Text() {
    static const std::vector<std::string> pieces = {
        "Hello", " world", "?", "\n", "\n\n", "  ", "caf\xc3\xa9", "e\xcc\x81t\xc3\xa9" /* decomposed: NFC changes it */,
        "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "42", "x = f(a, b);", "\"quoted\"", "back\\slash", "\t",
        "<tool_call>", "</think>?", "{\"k\": 1}"};
    std::string text;
    const int n = Pick(0, 6);
    for (int i = 0; i < n; ++i) text += OneOf(pieces);
    return text.empty() ? "ok" : text;
  }

  Json Arguments() {
    Json args = Json::object();
    args["query"] = Text();
    if (Chance(0.5)) args["limit"] = Pick(-3, 100);
    if (Chance(0.5)) args["scale"] = OneOf<double>({0.5, 0.1, 1e16, 1e15, 2.5e-7, 100.0, -3.0, 1e-5, 0.0001});
    if (Chance(0.3)) args["flags"] = Json::array({true, false, nullptr});
    if (Chance(0.3)) args["nested"] = {{"z", Text()}, {"a", Json::array()}};
    return args;
  }

  Json Tools() {
    Json tools = Json::array();
    const int n = Pick(1, 3);
    for (int i = 0; i < n; ++i) {
      Json function = {{"name", "tool_" + std::to_string(i)}, {"description", Text()},
                       {"parameters", {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}},
                                       {"required", Json::array({"query"})}}}};
      tools.push_back(Chance(0.8) ? Json{{"type", "function"}, {"function", function}} : function);
    }
    return tools;
  }

  Json Assistant(bool calls) {
    Json m = {{"role", "assistant"}};
    const int style = Pick(0, 4);
    std::string content = Chance(0.2) && calls ? "" : Text();
    if (style == 1) m["reasoning_content"] = Chance(0.2) ? "" : "\n" + Text() + "\n";
    if (style == 2) content = "<think>\n" + Text() + "\n</think>\n\n" + content;
    if (style == 3) content = "early</think>\n" + content;  // no opening tag
    if (style == 4) content = "\n\n" + content;  // leading newlines the think block strips
    m["content"] = content;
    if (calls) {
      m["tool_calls"] = Json::array();
      const int n = Pick(1, 2);
      for (int k = 0; k < n; ++k) {
        const Json args = Arguments();
        Json call = {{"name", "tool_" + std::to_string(k)}, {"arguments", Chance(0.3) ? Json(args.dump()) : args}};
        m["tool_calls"].push_back(Chance(0.7) ? Json{{"id", "call_" + std::to_string(k)}, {"type", "function"},
                                                      {"function", call}}
                                              : call);
      }
    }
    return m;
  }

  std::mt19937 rng_;
};

std::vector<Json> ReadLines(const std::string& path) {
  std::vector<Json> lines;
  std::istringstream in(testing_data::ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  return lines;
}

TEST(ChatTemplateOracle, GeneratedRecordsRenderAsTransformersApplyChatTemplate) {
  constexpr int kRecords = 120;
  RecordGenerator generate(/*seed=*/23);
  std::vector<Json> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(generate.Record());
  testing_data::TempDir tmp;
  std::string lines;
  for (const Json& r : records) lines += r.dump() + "\n";
  testing_data::WriteFile(tmp / "records.jsonl", lines);

  const std::string tokenizer_dir = testing_data::Qwen3TokenizerDir();
  if (tokenizer_dir.empty()) std::cout << "ids not compared: " << testing_data::kNoQwen3 << "\n";
  const std::string command = std::string(ZEN_PYTHON) + " " + ZEN_SOURCE_DIR + "/tests/oracle/chat_template_oracle.py " +
                              ZEN_SOURCE_DIR + "/tests/fixtures/qwen3_chat_template.jinja " + (tmp / "records.jsonl") +
                              " " + (tmp / "oracle.jsonl") +
                              (tokenizer_dir.empty() ? "" : " --tokenizer " + tokenizer_dir + "/tokenizer.json");
  ASSERT_EQ(testing_data::RunCommand(command, tmp / "log"), 0) << command << "\n" << testing_data::ReadFile(tmp / "log");
  const std::vector<Json> oracle = ReadLines(tmp / "oracle.jsonl");
  ASSERT_EQ(oracle.size(), records.size());

  std::unique_ptr<Tokenizer> qwen;
  if (!tokenizer_dir.empty()) qwen = *OpenTokenizer(tokenizer_dir + "/tokenizer.json");
  int with_tools = 0, with_calls = 0, with_thinking = 0, with_prompt = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const Json& r = records[i];
    auto conversation = ConversationFromJson(r);
    ASSERT_TRUE(conversation.ok()) << conversation.status() << "\n" << r.dump();
    const bool prompt = r.value("add_generation_prompt", false);
    const std::optional<bool> thinking = r.contains("enable_thinking") ? std::optional<bool>(r["enable_thinking"].get<bool>())
                                                                        : std::nullopt;
    EXPECT_EQ(RenderChat(*conversation, ChatTemplate::kQwen3, prompt, thinking), oracle[i]["text"].get<std::string>())
        << "record " << i << ": " << r.dump();
    if (qwen) {
      const std::vector<int32_t> ids = prompt ? qwen->Encode(ChatPrompt(*qwen, *conversation, thinking))
                                              : EncodeChat(*qwen, *conversation, LossMask::kAssistant).ids;
      EXPECT_EQ(ids, oracle[i]["ids"].get<std::vector<int32_t>>()) << "record " << i << ": " << r.dump();
    }
    with_tools += r.contains("tools");
    with_prompt += prompt;
    const std::string text = oracle[i]["text"].get<std::string>();
    with_calls += text.find("<tool_response>") != std::string::npos;
    with_thinking += text.find("<think>\n\n</think>") == std::string::npos && text.find("<think>") != std::string::npos;
  }
  // The generator covered each feature many times.
  EXPECT_GT(with_tools, 30);
  EXPECT_GT(with_calls, 30);
  EXPECT_GT(with_thinking, 10);
  EXPECT_GT(with_prompt, 10);
}

}  // namespace
}  // namespace zen
