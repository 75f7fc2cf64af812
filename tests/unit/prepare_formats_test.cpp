// `zen data prepare`'s input formats: JSON arrays, gzip and zstd, ShareGPT, Alpaca, --field, Qwen3's
// template; each malformed row names its file and row (or is skipped and counted with --skip-bad).
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include "data/chat/chat_formats.h"
#include "data/chat/chat_template.h"
#include "data/prepare/prepare.h"
#include "data/shards/shard_manifest.h"
#include "data/tokenizer/tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;
using testing_data::ReadFile;
using testing_data::TempDir;
using testing_data::WriteFile;

const std::vector<std::string> kChatLines = {
    R"({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})",
    R"({"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>\nsay hello\n</think>\n\nhello"}]})",
    R"({"messages": [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "w", "arguments": {"city": "Oslo"}}}]}, {"role": "tool", "content": "rain"}, {"role": "assistant", "content": "Rain."}], "tools": [{"name": "w"}]})"};

std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

void WriteGzip(const std::string& path, const std::string& contents) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, contents.data(), static_cast<unsigned>(contents.size()));
  gzclose(f);
}

void WriteZstd(const std::string& path, const std::string& contents) {
  std::string out(ZSTD_compressBound(contents.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), contents.data(), contents.size(), 3));
  WriteFile(path, out);
}

absl::StatusOr<PrepareReport> Prepare(const TempDir& tmp, const std::vector<std::string>& inputs,
                                      const std::string& format = "auto", const std::string& out = "out") {
  PrepareOptions o;
  o.inputs = inputs;
  o.output_dir = tmp / out;
  o.format = format;
  o.threads = 2;
  return PrepareData(o);
}

// The token ids of every shard, concatenated, and the mask: the whole output but the manifest's names.
std::string ShardBytes(const std::string& dir) {
  const absl::StatusOr<Manifest> manifest = ReadManifest(dir);
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  std::string bytes;
  for (const ShardEntry& s : manifest->shards) bytes += ReadFile(dir + "/" + s.ids.name) + ReadFile(dir + "/" + s.mask.name);
  return bytes;
}

TEST(PrepareFormats, JsonArrayGzipAndZstdPrepareToTheSameShardsAsJsonl) {
  TempDir tmp;
  WriteFile(tmp / "chat.jsonl", Lines(kChatLines));
  Json array = Json::array();
  for (const std::string& line : kChatLines) array.push_back(Json::parse(line));
  WriteFile(tmp / "chat.json", array.dump(2));
  WriteGzip(tmp / "chat.jsonl.gz", Lines(kChatLines));
  WriteZstd(tmp / "chat.jsonl.zst", Lines(kChatLines));
  ASSERT_TRUE(Prepare(tmp, {tmp / "chat.jsonl"}, "auto", "jsonl").ok());
  const std::string expected = ShardBytes(tmp / "jsonl");
  ASSERT_FALSE(expected.empty());
  for (const std::string name : {"chat.json", "chat.jsonl.gz", "chat.jsonl.zst"}) {
    auto report = Prepare(tmp, {tmp / name}, "auto", name + ".out");
    ASSERT_TRUE(report.ok()) << name << ": " << report.status();
    EXPECT_EQ(report->documents, 3) << name;
    EXPECT_EQ(ShardBytes(tmp / (name + ".out")), expected) << name;
  }
}

TEST(PrepareFormats, ChatRecordsRenderInQwen3sTemplate) {
  TempDir tmp;
  WriteFile(tmp / "chat.jsonl", Lines(kChatLines));
  ASSERT_TRUE(Prepare(tmp, {tmp / "chat.jsonl"}).ok());
  const auto bytes = *OpenTokenizer("bytes");
  const std::string ids = ReadFile(tmp / "out/shard-00000.ids");
  const auto* id = reinterpret_cast<const uint32_t*>(ids.data());
  std::string expected;
  for (const std::string& line : kChatLines) expected += RenderChat(*ConversationFromJson(Json::parse(line)));
  EXPECT_EQ(bytes->Decode(std::vector<int32_t>(id, id + ids.size() / 4)), expected);
  EXPECT_NE(expected.find("<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>"), std::string::npos) << expected;
}

TEST(PrepareFormats, ShareGptAndAlpacaBecomeTheChatsTheyDescribe) {
  auto sharegpt = MessagesFromShareGpt(Json::parse(R"({"system": "S", "tools": "[{\"name\": \"w\"}]",
      "conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "{\"name\": \"w\", \"arguments\": {\"x\": 1}}"},
                        {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}]})"));
  ASSERT_TRUE(sharegpt.ok()) << sharegpt.status();
  EXPECT_EQ(sharegpt->dump(), Json::parse(R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "q"},
      {"role": "assistant", "content": "", "tool_calls": [{"name": "w", "arguments": {"x": 1}}]},
      {"role": "tool", "content": "r"}, {"role": "assistant", "content": "a"}], "tools": [{"name": "w"}]})").dump());
  auto alpaca = MessagesFromAlpaca(Json::parse(R"({"instruction": "Add", "input": "2 and 3", "output": "5",
      "history": [["hi", "hello"]]})"));
  ASSERT_TRUE(alpaca.ok()) << alpaca.status();
  EXPECT_EQ(alpaca->dump(), Json::parse(R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
      {"role": "user", "content": "Add\n2 and 3"}, {"role": "assistant", "content": "5"}]})").dump());
  EXPECT_EQ((*MessagesFromAlpaca(Json::parse(R"({"instruction": "Say hi", "input": "", "output": "hi"})")))["messages"][0]["content"],
            "Say hi");
}

// A malformed row of each format (plain, compressed, array, ShareGPT, Alpaca) exits 2 naming the file and row,
// or with --skip-bad is counted and left out.
TEST(PrepareFormats, MalformedRowsNameFileAndRowOrAreSkippedAndCounted) {
  TempDir tmp;
  const std::string good_sharegpt = R"({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]})";
  const std::string good_alpaca = R"({"instruction": "q", "output": "a"})";
  WriteFile(tmp / "sharegpt.jsonl", Lines({good_sharegpt, R"({"conversations": [{"from": "bot", "value": "q"}]})"}));
  WriteFile(tmp / "alpaca.jsonl", Lines({good_alpaca, R"({"instruction": "q"})"}));
  WriteGzip(tmp / "chat.jsonl.gz", Lines({kChatLines[0], R"({"messages": [{"role": "user"}]})"}));
  WriteZstd(tmp / "chat.jsonl.zst", Lines({kChatLines[0], "{not json"}));
  WriteFile(tmp / "chat.json", "[" + kChatLines[0] + R"(, {"messages": [{"role": "wizard", "content": "x"}]}])");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sharegpt.jsonl", ":2: conversations[0].from: \"bot\""},
      {"alpaca.jsonl", ":2: output: expected a string"},
      {"chat.jsonl.gz", ":2: messages[0].content"},
      {"chat.jsonl.zst", ":2: not valid JSON"},
      {"chat.json", ": record 2: messages[0].role"}};
  for (const auto& [name, message] : cases) {
    auto failed = Prepare(tmp, {tmp / name}, "auto", name + ".out");
    ASSERT_FALSE(failed.ok()) << name;
    EXPECT_TRUE(IsBadInput(failed.status())) << failed.status();
    EXPECT_NE(failed.status().message().find(tmp / name + message), std::string::npos) << failed.status();
    PrepareOptions o;
    o.inputs = {tmp / name};
    o.output_dir = tmp / (name + ".skipped");
    o.skip_bad = true;
    auto skipped = PrepareData(o);
    ASSERT_TRUE(skipped.ok()) << skipped.status();
    EXPECT_EQ(skipped->documents, 1) << name;
    EXPECT_EQ(skipped->skipped_records, 1) << name;
  }
}

TEST(PrepareFormats, CorruptCompressedDataIsBadInputNamingTheFile) {
  TempDir tmp;
  WriteZstd(tmp / "a.jsonl.zst", Lines(kChatLines));
  const std::string whole = ReadFile(tmp / "a.jsonl.zst");
  WriteFile(tmp / "cut.jsonl.zst", whole.substr(0, whole.size() / 2));
  WriteFile(tmp / "junk.jsonl.gz", "this is not gzip at all, but long enough to be read as a header");
  for (const std::string name : {"cut.jsonl.zst", "junk.jsonl.gz"}) {
    auto failed = Prepare(tmp, {tmp / name}, "auto", name + ".out");
    ASSERT_FALSE(failed.ok()) << name;
    EXPECT_TRUE(IsBadInput(failed.status())) << failed.status();
    EXPECT_NE(failed.status().message().find(tmp / name), std::string::npos) << failed.status();
  }
}

TEST(PrepareFormats, FieldNamesTheKeyOfTheTextOrTheMessages) {
  TempDir tmp;
  WriteFile(tmp / "body.jsonl", Lines({R"({"id": 1, "body": "abc"})", R"({"id": 2, "body": "de"})"}));
  WriteFile(tmp / "conv.jsonl", Lines({R"({"dialog": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})"}));
  for (const auto& [name, documents] : std::vector<std::pair<std::string, int>>{{"body.jsonl", 2}, {"conv.jsonl", 1}}) {
    PrepareOptions o;
    o.inputs = {tmp / name};
    o.output_dir = tmp / (name + ".out");
    o.field = name == "body.jsonl" ? "body" : "dialog";
    auto report = PrepareData(o);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->documents, documents);
  }
  PrepareOptions o;
  o.inputs = {tmp / "body.jsonl"};
  o.output_dir = tmp / "missing.out";
  o.field = "text";
  o.format = "jsonl";
  auto failed = PrepareData(o);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(":1: expected an object {\"text\""), std::string::npos) << failed.status();
}

}  // namespace
}  // namespace zen
