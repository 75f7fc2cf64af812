#include "data/loader/demo_task.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "data/common/mix_random.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {

namespace {

constexpr int kNumbers = 100;                           // addends are 0..99
constexpr uint64_t kHeldOutKey = 0x64656d6f2d68656cull;  // fixed: the held-out pairs never depend on the seed

// The two addends of conversation `index`: drawn from the hash of (seed, index), drawn again from the
// hash of the draw while they are a held-out pair.
std::pair<int, int> Addends(uint64_t seed, int64_t index) {
  for (uint64_t bits = SplitMix64(SplitMix64(seed) ^ static_cast<uint64_t>(index));; bits = SplitMix64(bits)) {
    const int a = static_cast<int>((bits & 0xffffffff) % kNumbers), b = static_cast<int>((bits >> 32) % kNumbers);
    if (!IsDemoHeldOut(a, b)) return {a, b};
  }
}

std::vector<ChatTurn> Conversation(int a, int b) {
  return {{"user", absl::StrCat("What is ", a, "+", b, "?")}, {"assistant", absl::StrCat(a + b)}};
}

}  // namespace

bool IsDemoHeldOut(int a, int b) { return SplitMix64(kHeldOutKey ^ static_cast<uint64_t>(a * kNumbers + b)) % 10 == 0; }

std::vector<std::vector<ChatTurn>> DemoHeldOutConversations() {
  std::vector<std::vector<ChatTurn>> held_out;
  for (int a = 0; a < kNumbers; ++a) {
    for (int b = 0; b < kNumbers; ++b) {
      if (IsDemoHeldOut(a, b)) held_out.push_back(Conversation(a, b));
    }
  }
  return held_out;
}

std::vector<ChatTurn> DemoConversation(uint64_t seed, int64_t index) {
  const auto [a, b] = Addends(seed, index);
  return Conversation(a, b);
}

DemoCorpus MakeDemoCorpus(uint64_t seed, int64_t examples) {
  const std::unique_ptr<Tokenizer> bytes = *OpenTokenizer("bytes");
  // A conversation depends only on its addends, so each of the 10,000 pairs is tokenized once and
  // copied wherever it recurs: the same corpus as tokenizing every conversation, for a fraction of it.
  std::vector<TokenizedDocument> pairs(kNumbers * kNumbers);
  DemoCorpus corpus;
  corpus.docs.reserve(examples + 1);
  corpus.docs.push_back(0);
  for (int64_t i = 0; i < examples; ++i) {
    const auto [a, b] = Addends(seed, i);
    TokenizedDocument& doc = pairs[a * kNumbers + b];
    if (doc.ids.empty()) doc = EncodeChat(*bytes, Conversation(a, b), LossMask::kAssistant);
    corpus.ids.insert(corpus.ids.end(), doc.ids.begin(), doc.ids.end());
    corpus.mask.insert(corpus.mask.end(), doc.mask.begin(), doc.mask.end());
    corpus.docs.push_back(corpus.ids.size());
  }
  return corpus;
}

DemoTask::DemoTask(uint64_t seed, int64_t seq_len, int64_t examples, bool block_causal, double held_out_fraction)
    : corpus_(MakeDemoCorpus(seed, examples)),
      rows_({{corpus_.ids.data(), corpus_.mask.data(), corpus_.docs.data(), static_cast<int64_t>(corpus_.ids.size()),
              examples}},
            seq_len, seed, block_causal, held_out_fraction) {}

}  // namespace zen
