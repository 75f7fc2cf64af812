// data.blend: which source each row comes from (BlendSchedule), and the blended rows themselves.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/recipe.h"
#include "data/loader/blend_schedule.h"
#include "data/loader/source.h"
#include "data/prepare/prepare.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::TempDir;
using testing_data::WriteFile;

TEST(BlendSchedule, AfterAnyNumberOfRowsEachSourceHoldsItsWeightsShareToWithinOneRow) {
  for (const std::vector<double>& weights : {std::vector<double>{3, 1}, {5, 2, 1}, {0.1, 0.7, 0.15, 0.05}}) {
    const BlendSchedule schedule(weights);
    double sum = 0;
    for (double w : weights) sum += w;
    std::vector<int64_t> counts(weights.size(), 0);
    // Walk 10,000 rows one at a time (crossing the remembered counts every 4,096 rows).
    for (const BlendSchedule::Draw& d : schedule.Locate(0, 10000)) {
      EXPECT_EQ(d.index, counts[d.source]) << "a source's rows are numbered in the order the blend takes them";
      ++counts[d.source];
      int64_t rows = 0;
      for (int64_t c : counts) rows += c;
      for (size_t s = 0; s < weights.size(); ++s) {
        ASSERT_LE(std::abs(static_cast<double>(counts[s]) - weights[s] / sum * static_cast<double>(rows)), 1.0)
            << "source " << s << " after " << rows << " rows";
      }
    }
  }
}

TEST(BlendSchedule, ARowsSourceDependsOnlyOnItsIndexNotOnWhatWasAskedBefore) {
  const BlendSchedule whole({3, 1, 2});
  const std::vector<BlendSchedule::Draw> all = whole.Locate(0, 20000);
  // A fresh schedule asked out of order (a resumed run, another data-parallel rank) agrees row for row.
  const BlendSchedule fresh({3, 1, 2});
  for (int64_t first : {int64_t{17000}, int64_t{4095}, int64_t{8192}, int64_t{3}, int64_t{12289}}) {
    const std::vector<BlendSchedule::Draw> part = fresh.Locate(first, 700);
    for (int64_t i = 0; i < 700; ++i) {
      ASSERT_EQ(part[i].source, all[first + i].source) << first + i;
      ASSERT_EQ(part[i].index, all[first + i].index) << first + i;
    }
  }
  std::vector<int64_t> counts(3, 0);
  for (int64_t g = 0; g < 9000; ++g) ++counts[all[g].source];
  EXPECT_EQ(fresh.RowsPerSource(9000), counts);
}

// A folder of JSONL {"text"} documents of random letters drawn from `letters`, prepared with the byte
// tokenizer, so every token of a row says which folder it came from.
std::string PrepareLetters(const TempDir& tmp, const std::string& name, const std::string& letters, int documents) {
  std::mt19937 random(static_cast<uint32_t>(letters[0]));
  std::string lines;
  for (int i = 0; i < documents; ++i) {
    std::string text(5 + (i * 13) % 40, ' ');
    for (char& c : text) c = letters[random() % letters.size()];
    lines += "{\"text\": \"" + text + "\"}\n";
  }
  WriteFile(tmp / (name + ".jsonl"), lines);
  PrepareOptions o;
  o.inputs = {tmp / (name + ".jsonl")};
  o.output_dir = tmp / name;
  const auto report = PrepareData(o);
  EXPECT_TRUE(report.ok()) << report.status();
  return o.output_dir;
}

Recipe BlendRecipe(const std::vector<DataBlendEntry>& blend) {
  Recipe r;
  r.data.blend = blend;
  r.train.seq_len = 16;
  r.train.seed = 5;
  r.model.vocab = 512;
  return r;
}

// Which folder a row is from: 0 when its first letter is one of a-m, 1 when one of n-z (a row may start
// with a document's <|endoftext|>, 256).
int FolderOf(const torch::Tensor& row) {
  for (int64_t t = 0; t < row.size(0); ++t) {
    const int64_t id = row[t].item<int64_t>();
    if (id >= 'a' && id <= 'z') return id < 'n' ? 0 : 1;
  }
  return -1;
}

TEST(BlendedSource, RowsComeFromEachFolderByWeightAndASmallFolderWrapsAroundReshuffled) {
  TempDir tmp;
  const std::string big = PrepareLetters(tmp, "big", "abcdefghijklm", 200);
  const std::string small = PrepareLetters(tmp, "small", "nopqrstuvwxyz", 20);
  auto source = OpenDataSource(BlendRecipe({{big, 3}, {small, 1}}));
  ASSERT_TRUE(source.ok()) << source.status();
  const Batch rows = (*source)->Rows(0, 400);
  std::vector<std::string> from_small;
  for (int64_t r = 0; r < 400; ++r) {
    const auto row = rows.tokens[r];
    const int folder = FolderOf(row);
    // Each row holds one folder's tokens only (no row mixes them), apart from the padding id 0.
    for (int64_t t = 0; t < 16; ++t) {
      const int64_t id = row[t].item<int64_t>();
      ASSERT_TRUE(id == 0 || id == 256 || (folder == 0 ? id < 'n' : id >= 'n')) << r;
    }
    if (folder == 1) from_small.emplace_back(reinterpret_cast<const char*>(row.data_ptr<int64_t>()), 16 * 8);
  }
  EXPECT_EQ(from_small.size(), 100u) << "3:1 gives exactly a quarter of the rows to the second folder";
  const auto counts = (*source)->RowsPerSource(400);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0], std::make_pair(big, int64_t{300}));
  EXPECT_EQ(counts[1], std::make_pair(small, int64_t{100}));
  // The small folder has fewer windows than the 100 rows it gave: each of its epochs is every window once,
  // in a new order.
  auto small_alone = OpenDataSource([&] { Recipe r = BlendRecipe({}); r.data.path = small; return r; }());
  ASSERT_TRUE(small_alone.ok());
  const auto windows = static_cast<size_t>(*(*small_alone)->TokensPerEpoch() / 16);
  ASSERT_LT(2 * windows, from_small.size());
  const std::multiset<std::string> epoch0(from_small.begin(), from_small.begin() + windows);
  const std::multiset<std::string> epoch1(from_small.begin() + windows, from_small.begin() + 2 * windows);
  EXPECT_EQ(epoch0, epoch1);
  EXPECT_EQ(std::set<std::string>(epoch0.begin(), epoch0.end()).size(), windows);
  EXPECT_NE(std::vector<std::string>(from_small.begin(), from_small.begin() + windows),
            std::vector<std::string>(from_small.begin() + windows, from_small.begin() + 2 * windows));
  // One epoch of the blend reads every folder at least once in full: the small one, at a quarter of the rows,
  // takes 4 x its windows.
  const double big_windows = *OpenDataSource([&] { Recipe r = BlendRecipe({}); r.data.path = big; return r; }())
                                  .value()->TokensPerEpoch() / 16;
  EXPECT_EQ(*(*source)->TokensPerEpoch(), 16 * std::max(std::ceil(big_windows / 0.75), 4.0 * windows));
  EXPECT_EQ(TokensPerEpochOf(BlendRecipe({{big, 3}, {small, 1}})), (*source)->TokensPerEpoch());
}

TEST(BlendedSource, AReopenedBlendSplitOverRanksGivesTheUninterruptedRows) {
  TempDir tmp;
  const Recipe recipe = BlendRecipe({{PrepareLetters(tmp, "a", "abcdefghijklm", 60), 2},
                                     {PrepareLetters(tmp, "b", "nopqrstuvwxyz", 30), 1}});
  auto whole = OpenDataSource(recipe);
  ASSERT_TRUE(whole.ok()) << whole.status();
  const Batch expected = (*whole)->Rows(0, 96);  // 12 steps of 8 rows, past both folders' first epoch
  auto resumed = OpenDataSource(recipe);
  ASSERT_TRUE(resumed.ok());
  for (int64_t step = 7; step < 12; ++step) {
    const Batch a = (*resumed)->Rows(step * 8, 4), b = (*resumed)->Rows(step * 8 + 4, 4);
    const auto want = expected.tokens.slice(0, step * 8, step * 8 + 8);
    EXPECT_TRUE(torch::equal(torch::cat({a.tokens, b.tokens}), want)) << step;
    EXPECT_TRUE(torch::equal(torch::cat({a.labels, b.labels}), expected.labels.slice(0, step * 8, step * 8 + 8)));
    EXPECT_TRUE(torch::equal(torch::cat({a.positions, b.positions}), expected.positions.slice(0, step * 8, step * 8 + 8)));
  }
}

TEST(BlendedSource, ABlendOfOneFolderIsThatFolderAsDataPath) {
  TempDir tmp;
  const std::string dir = PrepareLetters(tmp, "a", "abcdefghijklm", 60);
  auto blended = OpenDataSource(BlendRecipe({{dir, 2}}));
  Recipe plain = BlendRecipe({});
  plain.data.path = dir;
  auto alone = OpenDataSource(plain);
  ASSERT_TRUE(blended.ok() && alone.ok());
  const Batch a = (*blended)->Rows(0, 40), b = (*alone)->Rows(0, 40);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_TRUE(torch::equal(a.segments, b.segments));
}

TEST(BlendedSource, AnUnpreparedEntryIsBadInputNamingIt) {
  TempDir tmp;
  auto source = OpenDataSource(BlendRecipe({{PrepareLetters(tmp, "a", "abc", 5), 1}, {tmp / "missing", 1}}));
  ASSERT_FALSE(source.ok());
  EXPECT_TRUE(IsBadInput(source.status()));
  EXPECT_NE(source.status().message().find("data.blend[1].path: " + tmp / "missing"), std::string::npos)
      << source.status();
}

}  // namespace
}  // namespace zen
