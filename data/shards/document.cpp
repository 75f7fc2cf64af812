#include "data/shards/document.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "data/common/mix_random.h"

namespace zen {
namespace {

// A small deterministic stream of random numbers for one document.
class DocumentRandom {
 public:
  DocumentRandom(uint64_t seed, uint64_t document) : state_(SplitMix64(seed ^ SplitMix64(document))) {}
  uint64_t Next() { return state_ = SplitMix64(state_); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Byte offsets of the text's character boundaries, 0 and size included.
std::vector<size_t> CharacterBoundaries(std::string_view text) {
  std::vector<size_t> boundaries;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) boundaries.push_back(i);
  }
  boundaries.push_back(text.size());
  return boundaries;
}

}  // namespace

int64_t TokenizedDocument::LossTokens() const { return std::accumulate(mask.begin(), mask.end(), int64_t{0}); }

TokenizedDocument EncodeText(const Tokenizer& tokenizer, std::string_view text, int32_t end_of_text) {
  TokenizedDocument doc;
  tokenizer.EncodeTo(text, &doc.ids, nullptr);
  if (end_of_text >= 0) doc.ids.push_back(end_of_text);
  doc.mask.assign(doc.ids.size(), 1);
  return doc;
}

std::string MaybeRearrangeForFim(std::string_view text, const FimOptions& fim, uint64_t document) {
  DocumentRandom random(fim.seed, document);
  if (fim.rate <= 0 || random.Uniform() >= fim.rate) return std::string(text);
  const std::vector<size_t> boundaries = CharacterBoundaries(text);
  size_t a = boundaries[random.Next() % boundaries.size()];
  size_t b = boundaries[random.Next() % boundaries.size()];
  if (a > b) std::swap(a, b);
  std::string out;
  out.reserve(text.size() + 64);
  out.append(kFimPrefix).append(text.substr(0, a));
  out.append(kFimSuffix).append(text.substr(b));
  out.append(kFimMiddle).append(text.substr(a, b - a));
  return out;
}

}  // namespace zen
