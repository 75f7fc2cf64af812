// Reading prepared shards for training: packing, positions, labels, shuffling, resuming, integrity.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/recipe.h"
#include "data/loader/shard_loader.h"
#include "data/prepare/prepare.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::TempDir;
using testing_data::WriteFile;

// Prepares JSONL {"text"} documents with the byte tokenizer; returns the shard folder.
std::string PrepareTexts(const TempDir& tmp, const std::vector<std::string>& texts, int64_t tokens_per_shard = 1 << 20) {
  std::string lines;
  for (const std::string& t : texts) lines += "{\"text\": \"" + t + "\"}\n";
  WriteFile(tmp / "in.jsonl", lines);
  PrepareOptions o;
  o.inputs = {tmp / "in.jsonl"};
  o.output_dir = tmp / "shards";
  o.tokens_per_shard = tokens_per_shard;
  const auto report = PrepareData(o);
  EXPECT_TRUE(report.ok()) << report.status();
  return o.output_dir;
}

// Documents of 3 to 52 random letters (so no two windows of the stream hold the same tokens).
std::vector<std::string> ManyTexts(int n) {
  std::mt19937 random(12345);
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) {
    std::string text(3 + (i * 37) % 50, ' ');
    for (char& c : text) c = static_cast<char>('a' + random() % 26);
    texts.push_back(text);
  }
  return texts;
}

std::unique_ptr<ShardDataSource> Open(const std::string& dir, int64_t seq_len, uint64_t seed = 1) {
  ShardLoaderOptions o;
  o.dir = dir;
  o.seq_len = seq_len;
  o.seed = seed;
  auto source = ShardDataSource::Open(o);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? *std::move(source) : nullptr;
}

TEST(ShardLoader, PositionsRestartAtEachDocumentAndLabelsStopAtItsEnd) {
  TempDir tmp;
  // Documents of 4 and 3 tokens ("abc"+eot, "xy"+eot), one window of 8: 7 tokens and one of padding.
  const auto source = Open(PrepareTexts(tmp, {"abc", "xy"}), 8);
  ASSERT_TRUE(source);
  ASSERT_EQ(source->Windows(), 1);
  const Batch b = source->Rows(0, 1);
  const std::vector<int64_t> tokens(b.tokens.data_ptr<int64_t>(), b.tokens.data_ptr<int64_t>() + 8);
  const std::vector<int64_t> labels(b.labels.data_ptr<int64_t>(), b.labels.data_ptr<int64_t>() + 8);
  const std::vector<int64_t> positions(b.positions.data_ptr<int64_t>(), b.positions.data_ptr<int64_t>() + 8);
  const int64_t eot = 256, none = kIgnoreLabel;
  EXPECT_EQ(tokens, (std::vector<int64_t>{'a', 'b', 'c', eot, 'x', 'y', eot, 0}));
  EXPECT_EQ(positions, (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 0}));
  EXPECT_EQ(labels, (std::vector<int64_t>{'b', 'c', eot, none, 'y', eot, none, none}));
  ASSERT_TRUE(b.segments.defined());
  const std::vector<int64_t> segments(b.segments.data_ptr<int64_t>(), b.segments.data_ptr<int64_t>() + 8);
  EXPECT_EQ(segments, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 2}));  // the padding is a segment of its own
}

TEST(ShardLoader, BlockCausalOffOrOneDocumentPerRowLeavesPlainCausalAttention) {
  TempDir tmp;
  const std::string dir = PrepareTexts(tmp, {"abcdefghijklmno"});  // 16 tokens with the end-of-text
  ShardLoaderOptions o;
  o.dir = dir;
  o.seq_len = 8;
  auto one_document = ShardDataSource::Open(o);
  ASSERT_TRUE(one_document.ok()) << one_document.status();
  EXPECT_FALSE((*one_document)->Rows(0, 2).segments.defined());  // both windows inside the one document

  TempDir tmp2;
  o.dir = PrepareTexts(tmp2, {"abc", "xy"});
  o.block_causal = false;
  auto off = ShardDataSource::Open(o);
  ASSERT_TRUE(off.ok()) << off.status();
  const Batch b = (*off)->Rows(0, 1);
  EXPECT_FALSE(b.segments.defined());
  EXPECT_EQ(b.positions[0][4].item<int64_t>(), 0);  // positions still restart at each document
}

TEST(ShardLoader, LabelsFollowTheLossMaskOfChatData) {
  TempDir tmp;
  WriteFile(tmp / "chat.jsonl", R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok"}]})" "\n");
  PrepareOptions o;
  o.inputs = {tmp / "chat.jsonl"};
  o.output_dir = tmp / "shards";
  ASSERT_TRUE(PrepareData(o).ok());
  const auto source = Open(o.output_dir, 64);
  ASSERT_TRUE(source);
  const Batch b = source->Rows(0, 1);
  std::string predicted;
  for (int64_t t = 0; t < 64; ++t) {
    const int64_t label = b.labels[0][t].item<int64_t>();
    if (label == kIgnoreLabel) continue;
    predicted += label < 256 ? std::string(1, static_cast<char>(label)) : label == 258 ? "<|im_end|>" : "?";
  }
  EXPECT_EQ(predicted, "ok<|im_end|>");
  EXPECT_EQ(b.LossTokens(), 3);
}

TEST(ShardLoader, EachEpochVisitsEveryWindowOnceInADifferentOrder) {
  TempDir tmp;
  const auto source = Open(PrepareTexts(tmp, ManyTexts(200), /*tokens_per_shard=*/500), 16);
  ASSERT_TRUE(source);
  const int64_t w = source->Windows();
  ASSERT_GT(w, 100);
  EXPECT_EQ(*source->TokensPerEpoch(), static_cast<double>(w * 16));
  std::vector<std::string> epochs[2];
  for (int e = 0; e < 2; ++e) {
    const Batch b = source->Rows(e * w, w);
    for (int64_t r = 0; r < w; ++r) {
      const auto row = b.tokens[r];
      epochs[e].emplace_back(reinterpret_cast<const char*>(row.data_ptr<int64_t>()), 16 * sizeof(int64_t));
    }
  }
  EXPECT_EQ(std::set<std::string>(epochs[0].begin(), epochs[0].end()).size(), static_cast<size_t>(w));
  EXPECT_EQ(std::multiset<std::string>(epochs[0].begin(), epochs[0].end()),
            std::multiset<std::string>(epochs[1].begin(), epochs[1].end()));
  EXPECT_NE(epochs[0], epochs[1]);
}

TEST(ShardLoader, ARowDependsOnlyOnSeedAndIndexSoResumingMidEpochGivesTheSameBatches) {
  TempDir tmp;
  const std::string dir = PrepareTexts(tmp, ManyTexts(30), /*tokens_per_shard=*/400);
  const auto uninterrupted = Open(dir, 32, /*seed=*/7);
  ASSERT_TRUE(uninterrupted);
  // A run of 12 steps of 8 rows, crossing an epoch boundary; the resumed loader is opened afresh at step 5.
  std::vector<Batch> expected;
  for (int64_t step = 0; step < 12; ++step) expected.push_back(uninterrupted->Rows(step * 8, 8));
  ASSERT_LT(uninterrupted->Windows(), 12 * 8);
  const auto resumed = Open(dir, 32, /*seed=*/7);
  for (int64_t step = 5; step < 12; ++step) {
    // Data-parallel ranks read disjoint halves of each step's rows; together they are the same batch.
    const Batch a = resumed->Rows(step * 8, 4), b = resumed->Rows(step * 8 + 4, 4);
    EXPECT_TRUE(torch::equal(torch::cat({a.tokens, b.tokens}), expected[step].tokens)) << step;
    EXPECT_TRUE(torch::equal(torch::cat({a.labels, b.labels}), expected[step].labels)) << step;
    EXPECT_TRUE(torch::equal(torch::cat({a.positions, b.positions}), expected[step].positions)) << step;
  }
  const auto other_seed = Open(dir, 32, /*seed=*/8);
  EXPECT_FALSE(torch::equal(other_seed->Rows(0, 8).tokens, expected[0].tokens));
}

TEST(ShardLoader, AShardWhoseSha256DisagreesIsAnErrorNamingIt) {
  TempDir tmp;
  const std::string dir = PrepareTexts(tmp, ManyTexts(50), /*tokens_per_shard=*/300);
  std::string mask = testing_data::ReadFile(dir + "/shard-00001.mask");
  mask[3] ^= 1;
  WriteFile(dir + "/shard-00001.mask", mask);
  ShardLoaderOptions o;
  o.dir = dir;
  auto source = ShardDataSource::Open(o);
  ASSERT_FALSE(source.ok());
  EXPECT_TRUE(IsBadInput(source.status()));
  EXPECT_NE(source.status().message().find("shard-00001.mask: sha256"), std::string::npos) << source.status();
}

TEST(ShardLoader, AShardOfTheWrongSizeIsAnErrorNamingIt) {
  TempDir tmp;
  const std::string dir = PrepareTexts(tmp, ManyTexts(50), /*tokens_per_shard=*/300);
  const std::string ids = testing_data::ReadFile(dir + "/shard-00002.ids");
  WriteFile(dir + "/shard-00002.ids", ids.substr(0, ids.size() - 4));
  ShardLoaderOptions o;
  o.dir = dir;
  o.verify_sha256 = false;
  auto source = ShardDataSource::Open(o);
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("shard-00002.ids: "), std::string::npos) << source.status();
}

TEST(ShardLoader, ATokenizerOtherThanTheManifestsIsAnError) {
  TempDir tmp;
  ShardLoaderOptions o;
  o.dir = PrepareTexts(tmp, {"abc"});
  o.tokenizer_fingerprint = "sha256:0123";
  auto source = ShardDataSource::Open(o);
  ASSERT_FALSE(source.ok());
  EXPECT_TRUE(IsBadInput(source.status()));
  EXPECT_NE(source.status().message().find("tokenizer"), std::string::npos) << source.status();
  o.tokenizer_fingerprint = "bytes";
  EXPECT_TRUE(ShardDataSource::Open(o).ok());
}

TEST(ShardLoader, TokenIdsAtOrAboveTheModelVocabularyAreAnErrorBeforeTraining) {
  TempDir tmp;
  const auto source = Open(PrepareTexts(tmp, {"abc"}), 8);  // holds <|endoftext|> = 256
  ASSERT_TRUE(source);
  EXPECT_TRUE(source->CheckVocab(257).ok());
  const absl::Status too_small = source->CheckVocab(256);
  EXPECT_TRUE(IsBadInput(too_small));
  EXPECT_NE(too_small.message().find("256"), std::string::npos) << too_small;

  Recipe recipe;
  recipe.data.path = tmp / "shards";
  recipe.train.seq_len = 8;
  recipe.model.vocab = 200;
  auto opened = OpenDataSource(recipe);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("data.path"), std::string::npos) << opened.status();
  recipe.model.vocab = 512;
  EXPECT_TRUE(OpenDataSource(recipe).ok());
}

}  // namespace
}  // namespace zen
