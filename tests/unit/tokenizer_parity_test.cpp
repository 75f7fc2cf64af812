// The BPE tokenizer against the reference: every line of parity.jsonl (ids from transformers.js) and
// thousands of random texts whose ids Hugging Face `tokenizers` computes on the same tokenizer.json.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "data/tokenizer/bpe_tokenizer.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::Qwen3TokenizerDir;

// Reads JSON lines {"text", "ids", ...}.
std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::string Show(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

class Qwen3Tokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = Qwen3TokenizerDir();
    if (dir_.empty()) GTEST_SKIP() << testing_data::kNoQwen3;
    absl::StatusOr<BpeTokenizer> loaded = BpeTokenizer::Load(dir_ + "/tokenizer.json");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::make_unique<BpeTokenizer>(*std::move(loaded));
  }

  // Compares ids for every record; returns how many differ, printing the first few.
  int CountMismatches(const std::vector<nlohmann::json>& records) {
    int mismatches = 0;
    for (const nlohmann::json& r : records) {
      const std::vector<int32_t> got = tokenizer_->Encode(r["text"].get<std::string>());
      const auto want = r["ids"].get<std::vector<int32_t>>();
      if (got != want && ++mismatches <= 5) {
        ADD_FAILURE() << "text " << r["text"].dump() << "\n  got  " << Show(got) << "\n  want " << Show(want);
      }
    }
    return mismatches;
  }

  std::string dir_;
  std::unique_ptr<BpeTokenizer> tokenizer_;
};

TEST_F(Qwen3Tokenizer, MatchesEveryLineOfParityJsonl) {
  const std::vector<nlohmann::json> records = ReadJsonLines(dir_ + "/parity.jsonl");
  ASSERT_GE(records.size(), 200u);
  EXPECT_EQ(CountMismatches(records), 0) << "of " << records.size() << " lines";
}

TEST_F(Qwen3Tokenizer, MatchesHuggingFaceTokenizersOnThousandsOfRandomTexts) {
  testing_data::TempDir tmp;
  const std::string out = tmp / "oracle.jsonl", log = tmp / "oracle.log";
  const std::string command = std::string(ZEN_PYTHON) + " " + ZEN_SOURCE_DIR + "/tests/oracle/tokenizer_oracle.py " +
                              dir_ + "/tokenizer.json " + out + " --count 1000";
  ASSERT_EQ(testing_data::RunCommand(command, log), 0) << command << "\n" << testing_data::ReadFile(log);
  const std::vector<nlohmann::json> records = ReadJsonLines(out);
  ASSERT_EQ(records.size(), 5000u) << testing_data::ReadFile(log);
  std::map<std::string, int> kinds;
  for (const auto& r : records) ++kinds[r["kind"].get<std::string>()];
  EXPECT_EQ(kinds.size(), 5u);
  EXPECT_EQ(CountMismatches(records), 0) << "of " << records.size() << " random texts";
}

// Decoding gives back the text when it is valid NFC UTF-8 (NFC is part of encoding, so other text
// comes back in NFC).
TEST_F(Qwen3Tokenizer, DecodeOfEncodeGivesBackNfcText) {
  int checked = 0;
  for (const nlohmann::json& r : ReadJsonLines(dir_ + "/parity.jsonl")) {
    const std::string text = r["text"].get<std::string>();
    const std::string normalized = tokenizer_->Normalize(text);
    EXPECT_EQ(tokenizer_->Decode(tokenizer_->Encode(text)), normalized);
    checked += normalized == text;
  }
  EXPECT_GT(checked, 200);
  const std::string decomposed = "e\xcc\x81t\xc3\xa9";  // "e" + U+0301 + "té"
  EXPECT_EQ(tokenizer_->Decode(tokenizer_->Encode(decomposed)), "\xc3\xa9t\xc3\xa9");
}

TEST_F(Qwen3Tokenizer, IllFormedUtf8BytesSurviveARoundTrip) {
  const std::string bytes = std::string("ok \xff\xfe bad \xc3 cut \xe2\x82 mid\x80 end\xf0\x9f", 30);
  EXPECT_EQ(tokenizer_->Decode(tokenizer_->Encode(bytes)), bytes);
}

TEST_F(Qwen3Tokenizer, SpecialTokensAreMatchedBeforeSplittingAndLongestFirst) {
  EXPECT_EQ(tokenizer_->TokenId("<|im_start|>"), 151644);
  EXPECT_EQ(tokenizer_->TokenId("<|im_end|>"), 151645);
  EXPECT_EQ(tokenizer_->TokenId("<|fim_prefix|>"), 151659);
  EXPECT_EQ(tokenizer_->TokenId("Ġthe"), 279);  // vocabulary entries as tokenizer.json spells them
  EXPECT_EQ(tokenizer_->TokenId("no such token"), -1);
  // "<|im_end|>" wins over the "<" of "<|im_end|>>"; ">b" is then an ordinary piece.
  EXPECT_EQ(tokenizer_->Encode("a<|im_end|>>b<think>"),
            (std::vector<int32_t>{64, 151645, tokenizer_->TokenId(">b"), tokenizer_->TokenId("<think>")}));
  EXPECT_EQ(tokenizer_->VocabSize(), 151669);
}

TEST_F(Qwen3Tokenizer, TokenStartsPointAtEachTokensBytes) {
  const std::string text = "<|im_start|>user\nHello,  world 123!<|im_end|>\n";
  std::vector<int32_t> ids;
  std::vector<size_t> starts;
  tokenizer_->EncodeTo(text, &ids, &starts);
  ASSERT_EQ(ids.size(), starts.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const size_t end = k + 1 < ids.size() ? starts[k + 1] : text.size();
    EXPECT_EQ(text.substr(starts[k], end - starts[k]), tokenizer_->Decode({ids[k]})) << "token " << k;
  }
}

}  // namespace
}  // namespace zen
