// Added tokens (<|im_start|>, <|fim_prefix|>, <think>, ...): matched in the raw text before
// normalization and pre-tokenization, as exact strings, leftmost first and longest among those
// starting at the same byte (the rule of Hugging Face `tokenizers`).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zen {

class AddedTokens {
 public:
  struct Match {
    size_t pos = std::string_view::npos;  // npos: no match
    size_t len = 0;
    int32_t id = -1;
  };

  void Add(std::string content, int32_t id);
  Match Next(std::string_view text, size_t from) const;  // the first match at or after `from`

  int32_t Find(std::string_view content) const;      // -1 if not an added token
  const std::string* Content(int32_t id) const;      // nullptr if not an added token
  int32_t MaxId() const { return max_id_; }

 private:
  std::vector<std::pair<std::string, int32_t>> tokens_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_;  // indexes into tokens_, longest first
  int32_t max_id_ = -1;
};

}  // namespace zen
