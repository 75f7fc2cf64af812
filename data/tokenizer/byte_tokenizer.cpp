#include "data/tokenizer/byte_tokenizer.h"

#include <array>
#include <utility>

namespace zen {
namespace {

const std::array<std::pair<const char*, int64_t>, 3>& Specials() {
  static const std::array<std::pair<const char*, int64_t>, 3> specials = {{
      {"<|endoftext|>", ByteTokenizer::kEndOfText},
      {"<|im_start|>", ByteTokenizer::kImStart},
      {"<|im_end|>", ByteTokenizer::kImEnd},
  }};
  return specials;
}

}  // namespace

std::vector<int64_t> ByteTokenizer::Encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (const auto& [literal, id] : Specials()) {
      const std::string_view s(literal);
      if (text.compare(i, s.size(), s) == 0) {
        ids.push_back(id);
        i += s.size();
        matched = true;
        break;
      }
    }
    if (!matched) ids.push_back(static_cast<unsigned char>(text[i++]));
  }
  return ids;
}

std::string ByteTokenizer::Decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (int64_t id : ids) {
    if (id >= 0 && id < 256) {
      text.push_back(static_cast<char>(id));
      continue;
    }
    for (const auto& [literal, special] : Specials()) {
      if (special == id) text += literal;
    }
  }
  return text;
}

}  // namespace zen
