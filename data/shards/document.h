// One training document as `zen data prepare` writes it: token ids and, per token, whether it is
// trained on (the loss mask), plus the encoders for plain text and fill-in-the-middle.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace zen {

struct TokenizedDocument {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // mask[t] = 1: predicting ids[t] (from ids[..t-1]) earns loss

  int64_t LossTokens() const;
};

// Plain text, every token trained, then `end_of_text` (when >= 0) so packed documents show their ends.
TokenizedDocument EncodeText(const Tokenizer& tokenizer, std::string_view text, int32_t end_of_text);

// Fill-in-the-middle (prefix-suffix-middle order, as Qwen2.5-Coder trains): with probability `rate`,
// decided by (seed, document), the text is cut at two random character boundaries and rearranged as
// <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>middle; otherwise it is left as it is.
struct FimOptions {
  double rate = 0;
  uint64_t seed = 0;
};
std::string MaybeRearrangeForFim(std::string_view text, const FimOptions& fim, uint64_t document);

// The special tokens FIM writes; a tokenizer must know them all for --fim-rate > 0.
inline constexpr const char* kFimPrefix = "<|fim_prefix|>";
inline constexpr const char* kFimSuffix = "<|fim_suffix|>";
inline constexpr const char* kFimMiddle = "<|fim_middle|>";

}  // namespace zen
