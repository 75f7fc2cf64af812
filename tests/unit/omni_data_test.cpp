// Zen-Omni's data path as a library: records with media prepared into shards + media files, read back one
// record per row with the batch's media in placeholder order, the same rows for any split and on reopening,
// long records cut between media, and data prepared for other shapes refused.
#include <gtest/gtest.h>

#include "data/chat/chat_template.h"
#include "data/common/mix_random.h"
#include "data/loader/shard_loader.h"
#include "data/media/image.h"
#include "data/media/media_files.h"
#include "data/prepare/prepare.h"
#include "data/tokenizer/tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::ReadFile;
using testing_data::RunCommand;
using testing_data::TempDir;

// The tiny Omni of tests/cli/omni_data.sh: 28-pixel images and frames (one token each), 16 x 64 log-mels
// (16 tokens each), placeholders 509-511.
MediaShape TinyShape() {
  ModelSpec m;
  m.vision.layers = m.audio.layers = 1;
  m.vision.image_size = m.vision.video_size = 28;
  m.vision.video_frames = 4;
  m.audio.mel_bins = 16;
  m.audio.chunk_frames = 64;
  m.image_token_id = 509, m.video_token_id = 510, m.audio_token_id = 511;
  return MediaShape::FromModel(m);
}

// Generates the 200-record dataset and prepares it; returns the prepared folder.
std::string PrepareOmni(const TempDir& tmp) {
  const std::string make = std::string(ZEN_PYTHON) + " " + ZEN_SOURCE_DIR + "/tests/cli/lib/make_omni_data.py " + tmp.path();
  EXPECT_EQ(RunCommand(make, tmp / "make.log"), 0) << ReadFile(tmp / "make.log");
  PrepareOptions o;
  o.inputs = {tmp / "omni.jsonl"};
  o.output_dir = tmp / "shards";
  o.format = "chat";
  o.threads = 2;
  o.media = TinyShape();
  auto report = PrepareData(o);
  EXPECT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->documents, 200);
  return o.output_dir;
}

std::unique_ptr<ShardDataSource> Open(const std::string& dir, int64_t seq_len, std::optional<MediaShape> media = TinyShape()) {
  ShardLoaderOptions o;
  o.dir = dir;
  o.seq_len = seq_len;
  o.seed = 3;
  o.media = media;
  auto source = ShardDataSource::Open(o);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? *std::move(source) : nullptr;
}

int64_t CountOf(const torch::Tensor& tokens, int64_t id) { return tokens.eq(id).sum().item<int64_t>(); }
int64_t Items(const torch::Tensor& t) { return t.defined() ? t.size(0) : 0; }

bool SameBatch(const Batch& a, const Batch& b) {
  auto same = [](const torch::Tensor& x, const torch::Tensor& y) {
    return x.defined() == y.defined() && (!x.defined() || (x.sizes() == y.sizes() && x.equal(y)));
  };
  return same(a.tokens, b.tokens) && same(a.labels, b.labels) && same(a.positions, b.positions) &&
         same(a.images, b.images) && same(a.video_frames, b.video_frames) && same(a.audios, b.audios);
}

TEST(OmniData, EachRowIsOneRecordWithItsMediaInPlaceholderOrder) {
  TempDir tmp;
  const std::string dir = PrepareOmni(tmp);
  auto source = Open(dir, 128);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->Windows(), 200);  // one row per record
  const std::string pixels = ReadFile(dir + "/" + kMediaImages), mels = ReadFile(dir + "/" + kMediaAudios),
                    index_bytes = ReadFile(dir + "/" + kMediaIndex);
  const auto* index = reinterpret_cast<const uint64_t*>(index_bytes.data());
  for (int64_t row = 0; row < 40; ++row) {
    const Batch b = source->Rows(row, 1);
    const int64_t doc = EpochShuffledItem(row, 200, 3);
    // Placeholder blocks and media agree, and are the record's own (the index's range for its document).
    ASSERT_EQ(CountOf(b.tokens, 509), Items(b.images)) << row;
    ASSERT_EQ(CountOf(b.tokens, 510), Items(b.video_frames)) << row;
    ASSERT_EQ(CountOf(b.tokens, 511), 16 * Items(b.audios)) << row;
    ASSERT_EQ(Items(b.images), static_cast<int64_t>(index[3 * doc + 3] - index[3 * doc])) << row;
    ASSERT_EQ(Items(b.audios), static_cast<int64_t>(index[3 * doc + 5] - index[3 * doc + 2])) << row;
    for (int64_t i = 0; i < Items(b.images); ++i) {
      auto stored = torch::from_blob(const_cast<char*>(pixels.data()) + (index[3 * doc] + i) * 3 * 28 * 28, {3, 28, 28},
                                     torch::kUInt8);
      EXPECT_TRUE(b.images[i].equal(NormalizeImages(stored))) << row;
    }
    for (int64_t a = 0; a < Items(b.audios); ++a) {
      auto stored = torch::from_blob(const_cast<char*>(mels.data()) + (index[3 * doc + 2] + a) * 16 * 64 * 4, {16, 64},
                                     torch::kFloat32);
      EXPECT_TRUE(b.audios[a].equal(stored)) << row;
    }
    // Placeholders are never predicted; positions count from 0 in the row.
    EXPECT_EQ(b.labels.ge(509).sum().item<int64_t>(), 0) << row;
    EXPECT_EQ(b.positions[0][5].item<int64_t>(), 5);
    if (b.images.defined()) EXPECT_EQ(b.images.sizes(), torch::IntArrayRef({Items(b.images), 3, 28, 28}));
    if (b.audios.defined()) EXPECT_EQ(b.audios.sizes(), torch::IntArrayRef({Items(b.audios), 16, 64}));
  }
  // A batch of rows lists each row's media in row order: the single rows' media concatenated.
  const Batch eight = source->Rows(0, 8);
  std::vector<torch::Tensor> images, frames, audios;
  for (int64_t row = 0; row < 8; ++row) {
    const Batch b = source->Rows(row, 1);
    if (b.images.defined()) images.push_back(b.images);
    if (b.video_frames.defined()) frames.push_back(b.video_frames);
    if (b.audios.defined()) audios.push_back(b.audios);
  }
  EXPECT_TRUE(eight.images.equal(torch::cat(images)));
  EXPECT_TRUE(eight.video_frames.equal(torch::cat(frames)));
  EXPECT_TRUE(eight.audios.equal(torch::cat(audios)));
  EXPECT_FALSE(eight.segments.defined());  // one record a row: causal attention is enough
}

TEST(OmniData, RowsAreTheSameForAnySplitAcrossAnEpochAndOnReopening) {
  TempDir tmp;
  const std::string dir = PrepareOmni(tmp);
  auto first = Open(dir, 96), reopened = Open(dir, 96);
  ASSERT_NE(first, nullptr);
  const Batch whole = first->Rows(195, 10);  // rows 195-204: epoch 0's last five, epoch 1's first five
  const Batch rank0 = reopened->Rows(195, 5), rank1 = reopened->Rows(200, 5);
  Batch joined{torch::cat({rank0.tokens, rank1.tokens}), torch::cat({rank0.labels, rank1.labels}),
               torch::cat({rank0.positions, rank1.positions}), torch::Tensor()};
  auto cat = [](const torch::Tensor& a, const torch::Tensor& b) {
    if (!a.defined()) return b;
    return b.defined() ? torch::cat({a, b}) : a;
  };
  joined.images = cat(rank0.images, rank1.images);
  joined.video_frames = cat(rank0.video_frames, rank1.video_frames);
  joined.audios = cat(rank0.audios, rank1.audios);
  EXPECT_TRUE(SameBatch(whole, joined));
  EXPECT_FALSE(first->Rows(0, 200).tokens.equal(first->Rows(200, 200).tokens));  // each epoch reshuffles
}

TEST(OmniData, ALongRecordIsCutBeforeTheMediumTheCutWouldSplit) {
  TempDir tmp;
  const std::string dir = PrepareOmni(tmp);
  // 12 tokens: "<|im_start|>user\n" is 6, so an audio's 16 placeholders (from token 6) never fit; images and
  // frames (one token each) may.
  auto source = Open(dir, 12);
  ASSERT_NE(source, nullptr);
  int64_t audio_tokens = 0;
  for (int64_t row = 0; row < 200; row += 8) {
    const Batch b = source->Rows(row, 8);
    audio_tokens += CountOf(b.tokens, 511);
    EXPECT_EQ(CountOf(b.tokens, 509), Items(b.images));
    EXPECT_EQ(CountOf(b.tokens, 510), Items(b.video_frames));
    EXPECT_FALSE(b.audios.defined());
  }
  EXPECT_EQ(audio_tokens, 0);
}

TEST(OmniData, DataPreparedForOtherShapesOrATextModelIsRefusedNamingTheDifference) {
  TempDir tmp;
  const std::string dir = PrepareOmni(tmp);
  MediaShape other = TinyShape();
  other.image_size = 56;
  other.image_tokens = 4;
  ShardLoaderOptions o;
  o.dir = dir;
  o.seq_len = 64;
  o.media = other;
  auto refused = ShardDataSource::Open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsBadInput(refused.status()));
  EXPECT_NE(refused.status().message().find("image_size 28 vs 56"), std::string::npos) << refused.status();
  o.media.reset();
  refused = ShardDataSource::Open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no vision or audio encoder"), std::string::npos) << refused.status();
}

TEST(OmniData, Qwen3TokenizesTheTextAroundMarkersAndSplicesUntrainedRuns) {
  const std::string dir = testing_data::Qwen3TokenizerDir();
  if (dir.empty()) GTEST_SKIP() << testing_data::kNoQwen3;
  auto qwen = *OpenTokenizer(dir + "/tokenizer.json");
  const std::vector<ChatTurn> turns = {{"user", "Look:<image>and<image> hear <audio>!"}, {"assistant", "red, blue; A4"}};
  const std::vector<MediaPlaceholder> placeholders = {{"<image>", 151655, {4, 4}}, {"<audio>", 151646, {3}}};
  const TokenizedDocument doc = EncodeChat(*qwen, turns, LossMask::kAssistant, placeholders);
  // The same as tokenizing each piece of the rendered text on its own, with the runs in between.
  std::vector<int32_t> expected;
  auto piece = [&](const std::string& text) {
    const std::vector<int32_t> ids = qwen->Encode(text);
    expected.insert(expected.end(), ids.begin(), ids.end());
  };
  piece("<|im_start|>user\nLook:");
  expected.insert(expected.end(), 4, 151655);
  piece("and");
  expected.insert(expected.end(), 4, 151655);
  piece(" hear ");
  expected.insert(expected.end(), 3, 151646);
  piece("!<|im_end|>\n<|im_start|>assistant\nred, blue; A4<|im_end|>\n");
  EXPECT_EQ(doc.ids, expected);
  std::vector<int32_t> trained;
  for (size_t t = 0; t < doc.ids.size(); ++t) {
    if (doc.mask[t]) trained.push_back(doc.ids[t]);
  }
  EXPECT_EQ(qwen->Decode(trained), "red, blue; A4<|im_end|>");  // placeholders and the prompt earn no loss
}

}  // namespace
}  // namespace zen
