#include "data/tokenizer/bpe_tokenizer.h"

#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/nfc.h"
#include "data/tokenizer/pretokenizer.h"

namespace zen {

std::string_view BpeTokenizer::NormalizeSegment(std::string_view segment, std::string* buffer) const {
  return nfc_ ? NormalizeNfc(segment, buffer) : segment;
}

void BpeTokenizer::EncodeSegment(std::string_view segment, size_t base, std::vector<int32_t>* ids,
                                 std::vector<size_t>* starts) const {
  thread_local std::vector<size_t> ends;
  ends.clear();
  SplitQwenPieces(segment, &ends);
  size_t begin = 0;
  for (size_t end : ends) {
    const size_t first = ids->size();
    model_.EncodePiece(segment.substr(begin, end - begin), ids);
    if (starts != nullptr) {
      size_t at = base + begin;
      for (size_t k = first; k < ids->size(); ++k) {
        starts->push_back(at);
        at += model_.Bytes((*ids)[k]).size();
      }
    }
    begin = end;
  }
}

// Added tokens cut the raw text into segments; each segment is normalized and encoded on its own.
void BpeTokenizer::EncodeTo(std::string_view text, std::vector<int32_t>* ids, std::vector<size_t>* starts) const {
  std::string buffer;
  size_t base = 0;  // offset in the normalized text
  for (size_t p = 0; p <= text.size();) {
    const AddedTokens::Match match = added_.Next(text, p);
    const size_t segment_end = match.pos == std::string_view::npos ? text.size() : match.pos;
    const std::string_view segment = NormalizeSegment(text.substr(p, segment_end - p), &buffer);
    EncodeSegment(segment, base, ids, starts);
    base += segment.size();
    if (match.pos == std::string_view::npos) break;
    ids->push_back(match.id);
    if (starts != nullptr) starts->push_back(base);
    base += match.len;
    p = match.pos + match.len;
  }
}

std::string BpeTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id >= 0 && id < model_.Size() && !model_.Bytes(id).empty()) {
      text += model_.Bytes(id);
    } else if (const std::string* content = added_.Content(id)) {
      text += *content;
    }
  }
  return text;
}

std::string BpeTokenizer::Normalize(std::string_view text) const {
  std::string normalized, buffer;
  for (size_t p = 0; p <= text.size();) {
    const AddedTokens::Match match = added_.Next(text, p);
    const size_t segment_end = match.pos == std::string_view::npos ? text.size() : match.pos;
    normalized += NormalizeSegment(text.substr(p, segment_end - p), &buffer);
    if (match.pos == std::string_view::npos) break;
    normalized += text.substr(match.pos, match.len);
    p = match.pos + match.len;
  }
  return normalized;
}

int32_t BpeTokenizer::TokenId(std::string_view token) const {
  if (const int32_t id = added_.Find(token); id >= 0) return id;
  const std::optional<std::string> bytes = ByteLevelToBytes(token);
  return bytes ? model_.Find(*bytes) : -1;
}

int64_t BpeTokenizer::VocabSize() const { return std::max<int64_t>(model_.Size(), added_.MaxId() + 1); }

}  // namespace zen
