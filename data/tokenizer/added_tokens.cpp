#include "data/tokenizer/added_tokens.h"

#include <algorithm>

namespace zen {

void AddedTokens::Add(std::string content, int32_t id) {
  if (content.empty()) return;
  const auto first = static_cast<unsigned char>(content[0]);
  tokens_.emplace_back(std::move(content), id);
  max_id_ = std::max(max_id_, id);
  auto& candidates = by_first_byte_[first];
  candidates.push_back(static_cast<uint32_t>(tokens_.size() - 1));
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](uint32_t a, uint32_t b) { return tokens_[a].first.size() > tokens_[b].first.size(); });
}

AddedTokens::Match AddedTokens::Next(std::string_view text, size_t from) const {
  if (tokens_.empty()) return {};
  for (size_t p = from; p < text.size(); ++p) {
    for (uint32_t index : by_first_byte_[static_cast<unsigned char>(text[p])]) {
      const auto& [content, id] = tokens_[index];
      if (text.compare(p, content.size(), content) == 0) return {p, content.size(), id};
    }
  }
  return {};
}

int32_t AddedTokens::Find(std::string_view content) const {
  for (const auto& [c, id] : tokens_) {
    if (c == content) return id;
  }
  return -1;
}

const std::string* AddedTokens::Content(int32_t id) const {
  for (const auto& [c, token_id] : tokens_) {
    if (token_id == id) return &c;
  }
  return nullptr;
}

}  // namespace zen
