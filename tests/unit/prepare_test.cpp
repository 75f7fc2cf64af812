// `zen data prepare` as a library: shards and manifest, loss masks through to disk, bad input, threads.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/common/sha256.h"
#include "data/prepare/prepare.h"
#include "data/shards/document.h"
#include "data/shards/shard_manifest.h"
#include "data/tokenizer/tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::ReadFile;
using testing_data::TempDir;
using testing_data::WriteFile;

const char kChat[] =
    R"({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})" "\n"
    R"({"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})" "\n";

PrepareOptions Options(const TempDir& tmp, const std::string& input, const std::string& format) {
  PrepareOptions o;
  o.inputs = {input};
  o.output_dir = tmp / "out";
  o.format = format;
  o.threads = 2;
  return o;
}

// The ids (and masks) of every document of a prepared folder, read back from its files.
std::vector<TokenizedDocument> ReadDocuments(const std::string& dir) {
  std::vector<TokenizedDocument> docs;
  const Manifest m = *ReadManifest(dir);
  for (const ShardEntry& s : m.shards) {
    const std::string ids = ReadFile(dir + "/" + s.ids.name), mask = ReadFile(dir + "/" + s.mask.name),
                      offsets = ReadFile(dir + "/" + s.docs.name);
    const auto* id = reinterpret_cast<const uint32_t*>(ids.data());
    const auto* off = reinterpret_cast<const uint64_t*>(offsets.data());
    for (int64_t d = 0; d < s.documents; ++d) {
      TokenizedDocument doc;
      doc.ids.assign(id + off[d], id + off[d + 1]);
      doc.mask.assign(mask.begin() + off[d], mask.begin() + off[d + 1]);
      docs.push_back(doc);
    }
  }
  return docs;
}

TEST(Prepare, ChatJsonlBecomesShardsWithAssistantOnlyLossMask) {
  TempDir tmp;
  WriteFile(tmp / "chat.jsonl", kChat);
  auto report = PrepareData(Options(tmp, tmp / "chat.jsonl", "chat"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->documents, 2);
  const std::vector<TokenizedDocument> docs = ReadDocuments(tmp / "out");
  ASSERT_EQ(docs.size(), 2u);
  const auto bytes = *OpenTokenizer("bytes");
  EXPECT_EQ(bytes->Decode(docs[0].ids), "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");
  std::vector<int32_t> trained;
  for (const auto& doc : docs) {
    for (size_t t = 0; t < doc.ids.size(); ++t) {
      if (doc.mask[t]) trained.push_back(doc.ids[t]);
    }
  }
  EXPECT_EQ(bytes->Decode(trained), "4<|im_end|>hello<|im_end|>");
  EXPECT_EQ(report->loss_tokens, static_cast<int64_t>(trained.size()));
}

TEST(Prepare, ManifestRecordsCountsHashesAndTheTokenizer) {
  TempDir tmp;
  WriteFile(tmp / "a.jsonl", "{\"text\": \"first document\"}\n\n{\"text\": \"second\"}\r\n");
  auto report = PrepareData(Options(tmp, tmp / "a.jsonl", "auto"));
  ASSERT_TRUE(report.ok()) << report.status();
  const Manifest m = *ReadManifest(tmp / "out");
  EXPECT_EQ(m.documents, 2);
  EXPECT_EQ(m.tokens, 14 + 1 + 6 + 1);  // bytes, each text ending in <|endoftext|>
  EXPECT_EQ(m.loss_tokens, m.tokens);
  EXPECT_EQ(m.tokenizer, "bytes");
  EXPECT_EQ(m.max_token_id, 256);
  ASSERT_EQ(m.shards.size(), 1u);
  for (const ShardFile* f : {&m.shards[0].ids, &m.shards[0].mask, &m.shards[0].docs}) {
    EXPECT_EQ(*Sha256OfFile(tmp / ("out/" + f->name)), f->sha256) << f->name;
    EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(tmp / ("out/" + f->name))), f->bytes);
  }
}

TEST(Prepare, MalformedJsonLineIsAnErrorNamingFileAndLine) {
  TempDir tmp;
  WriteFile(tmp / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"broken\"\n{\"text\": 3}\n");
  auto report = PrepareData(Options(tmp, tmp / "bad.jsonl", "jsonl"));
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(IsBadInput(report.status()));
  EXPECT_NE(report.status().message().find(tmp / "bad.jsonl:2: "), std::string::npos) << report.status();
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));  // no shards without a manifest: nothing at all
}

// --force: the old folder stays until the new one is complete, so a failure keeps it whole.
TEST(Prepare, ReplaceOutputSwapsInTheNewFolderOnlyAfterSuccess) {
  TempDir tmp;
  WriteFile(tmp / "a.jsonl", "{\"text\": \"first\"}\n");
  WriteFile(tmp / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": oops\n");
  ASSERT_TRUE(PrepareData(Options(tmp, tmp / "a.jsonl", "jsonl")).ok());
  const std::string old_manifest = ReadFile(tmp / "out/manifest.json");
  PrepareOptions bad = Options(tmp, tmp / "bad.jsonl", "jsonl");
  bad.replace_output = true;
  EXPECT_TRUE(IsBadInput(PrepareData(bad).status()));
  EXPECT_EQ(ReadFile(tmp / "out/manifest.json"), old_manifest);
  PrepareOptions good = Options(tmp, tmp / "a.jsonl", "jsonl");
  good.inputs.push_back(tmp / "a.jsonl");
  good.replace_output = true;
  ASSERT_TRUE(PrepareData(good).ok());
  EXPECT_EQ(ReadManifest(tmp / "out")->documents, 2);
  size_t entries = 0;  // a.jsonl, bad.jsonl, out: no temporary or old folder left beside it
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 3u);
}

TEST(Prepare, SkipBadCountsMalformedLinesAndKeepsTheRest) {
  TempDir tmp;
  WriteFile(tmp / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"broken\"\n{\"text\": 3}\n{\"text\": \"fine\"}\n");
  PrepareOptions o = Options(tmp, tmp / "bad.jsonl", "jsonl");
  o.skip_bad = true;
  auto report = PrepareData(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->documents, 2);
  EXPECT_EQ(report->skipped_records, 2);
  EXPECT_EQ(ReadManifest(tmp / "out")->skipped_records, 2);
}

TEST(Prepare, EmptyInputIsAnError) {
  TempDir tmp;
  WriteFile(tmp / "empty.jsonl", "\n  \n");
  auto report = PrepareData(Options(tmp, tmp / "empty.jsonl", "jsonl"));
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(IsBadInput(report.status()));
  EXPECT_NE(report.status().message().find("no documents"), std::string::npos) << report.status();
  auto missing = PrepareData(Options(tmp, tmp / "missing.jsonl", "jsonl"));
  EXPECT_TRUE(IsBadInput(missing.status())) << missing.status();
}

TEST(Prepare, TextFilesAreOneDocumentEach) {
  TempDir tmp;
  WriteFile(tmp / "a.txt", "line one\nline two\n");
  WriteFile(tmp / "b.md", "# title\n");
  PrepareOptions o = Options(tmp, tmp / "a.txt", "auto");
  o.inputs.push_back(tmp / "b.md");
  auto report = PrepareData(o);
  ASSERT_TRUE(report.ok()) << report.status();
  const std::vector<TokenizedDocument> docs = ReadDocuments(tmp / "out");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ((*OpenTokenizer("bytes"))->Decode(docs[1].ids), "# title\n<|endoftext|>");
}

TEST(Prepare, OutputIsIdenticalWhateverTheThreadCountAndShardsNeverSplitDocuments) {
  TempDir tmp;
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "{\"text\": \"document number " + std::to_string(i * 7919) + "\"}\n";
  WriteFile(tmp / "many.jsonl", lines);
  std::vector<std::string> contents;
  for (int threads : {1, 4}) {
    PrepareOptions o = Options(tmp, tmp / "many.jsonl", "jsonl");
    o.threads = threads;
    o.tokens_per_shard = 1000;
    o.output_dir = tmp / ("out" + std::to_string(threads));
    ASSERT_TRUE(PrepareData(o).ok());
    const Manifest m = *ReadManifest(o.output_dir);
    EXPECT_GT(m.shards.size(), 5u);
    std::string all;
    for (const ShardEntry& s : m.shards) {
      EXPECT_LT(s.tokens, 1000 + 40);  // a shard closes at the first document end past 1000 tokens
      all += ReadFile(o.output_dir + "/" + s.ids.name) + ReadFile(o.output_dir + "/" + s.docs.name);
    }
    contents.push_back(all);
  }
  EXPECT_EQ(contents[0], contents[1]);
  EXPECT_EQ(ReadDocuments(tmp / "out1").size(), 500u);
}

TEST(Prepare, RefusesFimWithATokenizerLackingFimTokensAndAnOutputThatHoldsData) {
  TempDir tmp;
  WriteFile(tmp / "a.jsonl", "{\"text\": \"x\"}\n");
  PrepareOptions o = Options(tmp, tmp / "a.jsonl", "jsonl");
  o.fim_rate = 0.5;
  auto fim = PrepareData(o);
  EXPECT_TRUE(IsBadInput(fim.status())) << fim.status();
  EXPECT_NE(fim.status().message().find("<|fim_prefix|>"), std::string::npos) << fim.status();
  o.fim_rate = 0;
  ASSERT_TRUE(PrepareData(o).ok());
  auto again = PrepareData(o);
  EXPECT_TRUE(IsBadInput(again.status())) << again.status();
}

TEST(Prepare, Qwen3FimRateOneWritesPrefixSuffixMiddleTokens) {
  const std::string dir = testing_data::Qwen3TokenizerDir();
  if (dir.empty()) GTEST_SKIP() << testing_data::kNoQwen3;
  TempDir tmp;
  WriteFile(tmp / "code.jsonl", "{\"text\": \"def f(x):\\n    return x * 2\\n\"}\n");
  PrepareOptions o = Options(tmp, tmp / "code.jsonl", "jsonl");
  o.tokenizer = dir + "/tokenizer.json";
  o.fim_rate = 1.0;
  ASSERT_TRUE(PrepareData(o).ok());
  const std::vector<TokenizedDocument> docs = ReadDocuments(tmp / "out");
  ASSERT_EQ(docs.size(), 1u);
  const std::vector<int32_t>& ids = docs[0].ids;
  EXPECT_EQ(ids.front(), 151659);  // <|fim_prefix|>
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151660), 1);  // <|fim_middle|>
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151661), 1);  // <|fim_suffix|>
  EXPECT_EQ(ids.back(), 151643);  // <|endoftext|>
  EXPECT_EQ(ReadManifest(tmp / "out")->tokenizer, *TokenizerFingerprint(o.tokenizer));
}

}  // namespace
}  // namespace zen
