// The BPE tokenizer on small hand-made tokenizer.json files (no downloads): merge order, added tokens,
// refusing what it does not implement, and the byte tokenizer behind the same interface.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/tokenizer/bpe_tokenizer.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/byte_tokenizer.h"
#include "data/tokenizer/pretokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using Json = nlohmann::json;

// A Qwen-shaped tokenizer.json: the 256 bytes, then the merges given (as raw bytes), then added tokens.
Json TinyTokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[BytesToByteLevel(std::string(1, static_cast<char>(b)))] = b;
  Json merge_list = Json::array();
  for (const auto& [l, r] : merges) {
    vocab[BytesToByteLevel(l + r)] = static_cast<int>(vocab.size());
    merge_list.push_back({BytesToByteLevel(l), BytesToByteLevel(r)});
  }
  Json root;
  root["normalizer"] = {{"type", "NFC"}};
  root["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", std::string(kQwenSplitPattern)}}},
                              {"behavior", "Isolated"}, {"invert", false}},
                             {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  root["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", merge_list}};
  root["added_tokens"] = {{{"id", 1000}, {"content", "<|a|>"}}, {{"id", 1001}, {"content", "<|a|>x"}}};
  return root;
}

absl::StatusOr<BpeTokenizer> LoadJson(const testing_data::TempDir& dir, const Json& json) {
  testing_data::WriteFile(dir / "tokenizer.json", json.dump());
  return BpeTokenizer::Load(dir / "tokenizer.json");
}

TEST(BpeTokenizer, MergesApplyLowestRankFirstThenLeftmost) {
  testing_data::TempDir dir;
  // "abc": (b,c) outranks (a,b), so a + bc; "abab": (a,b) twice, leftmost first, then (ab,ab).
  auto tok = LoadJson(dir, TinyTokenizerJson({{"b", "c"}, {"a", "b"}, {"ab", "ab"}, {"a", "bc"}}));
  ASSERT_TRUE(tok.ok()) << tok.status();
  const int32_t bc = 256, ab = 257, abab = 258, abc = 259;
  EXPECT_EQ(tok->Encode("abc"), (std::vector<int32_t>{abc}));
  EXPECT_EQ(tok->Encode("abab"), (std::vector<int32_t>{abab}));
  EXPECT_EQ(tok->Encode("ababa"), (std::vector<int32_t>{abab, 'a'}));
  EXPECT_EQ(tok->Encode("bcb"), (std::vector<int32_t>{bc, 'b'}));
  EXPECT_EQ(tok->Encode("xab"), (std::vector<int32_t>{'x', ab}));
  EXPECT_EQ(tok->Decode({abc, ' ', abab}), "abc abab");
}

TEST(BpeTokenizer, AddedTokensMatchLongestFirstInRawText) {
  testing_data::TempDir dir;
  auto tok = LoadJson(dir, TinyTokenizerJson({}));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->Encode("<|a|>xy<|a|>"), (std::vector<int32_t>{1001, 'y', 1000}));
  EXPECT_EQ(tok->Decode({1001, 'y', 1000}), "<|a|>xy<|a|>");
  EXPECT_EQ(tok->VocabSize(), 1002);
}

TEST(BpeTokenizer, LoadRefusesAPreTokenizerItDoesNotImplementNamingFileAndKey) {
  testing_data::TempDir dir;
  Json json = TinyTokenizerJson({});
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{N}{1,3}";
  auto tok = LoadJson(dir, json);
  ASSERT_FALSE(tok.ok());
  EXPECT_TRUE(IsBadInput(tok.status()));
  EXPECT_NE(tok.status().message().find(dir / "tokenizer.json"), std::string::npos) << tok.status();
  EXPECT_NE(tok.status().message().find("pre_tokenizer"), std::string::npos) << tok.status();
}

TEST(BpeTokenizer, LoadRefusesAMissingFileAndAMergeOutsideTheVocabulary) {
  testing_data::TempDir dir;
  auto missing = BpeTokenizer::Load(dir / "nope.json");
  EXPECT_TRUE(IsBadInput(missing.status())) << missing.status();
  Json json = TinyTokenizerJson({});
  json["model"]["merges"].push_back({"a", "q"});
  auto tok = LoadJson(dir, json);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("merges[0]"), std::string::npos) << tok.status();
}

TEST(BpeTokenizer, FingerprintIsTheSha256OfTheFile) {
  testing_data::TempDir dir;
  auto tok = LoadJson(dir, TinyTokenizerJson({}));
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto fingerprint = TokenizerFingerprint(dir / "tokenizer.json");
  ASSERT_TRUE(fingerprint.ok());
  EXPECT_EQ(tok->Fingerprint(), *fingerprint);
  EXPECT_EQ(fingerprint->size(), std::string("sha256:").size() + 64);
}

TEST(OpenTokenizer, BytesIsTheBuiltInByteTokenizer) {
  auto tok = OpenTokenizer("bytes");
  ASSERT_TRUE(tok.ok());
  const std::string text = "<|im_start|>h\xc3\xa9<|im_end|>";
  std::vector<int32_t> ids;
  std::vector<size_t> starts;
  (*tok)->EncodeTo(text, &ids, &starts);
  EXPECT_EQ(ids, (std::vector<int32_t>{ByteTokenizer::kImStart, 'h', 0xc3, 0xa9, ByteTokenizer::kImEnd}));
  EXPECT_EQ(starts, (std::vector<size_t>{0, 12, 13, 14, 15}));
  EXPECT_EQ((*tok)->Decode(ids), text);
  EXPECT_EQ((*tok)->TokenId("<|im_end|>"), ByteTokenizer::kImEnd);
  EXPECT_EQ((*tok)->VocabSize(), ByteTokenizer::kVocabSize);
  EXPECT_EQ((*tok)->Fingerprint(), "bytes");
}

}  // namespace
}  // namespace zen
