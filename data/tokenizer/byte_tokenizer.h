// The built-in byte-level tokenizer (`tokenizer.path: bytes`): ids 0-255 are bytes, then Qwen's
// chat special tokens, so the demo task runs with no files at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zen {

class ByteTokenizer {
 public:
  static constexpr int64_t kEndOfText = 256;  // <|endoftext|>
  static constexpr int64_t kImStart = 257;    // <|im_start|>
  static constexpr int64_t kImEnd = 258;      // <|im_end|>
  static constexpr int64_t kVocabSize = 259;

  // Special tokens written in the text are matched as single ids.
  std::vector<int64_t> Encode(const std::string& text) const;
  std::string Decode(const std::vector<int64_t>& ids) const;
};

}  // namespace zen
