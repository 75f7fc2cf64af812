#include "data/chat/chat_template.h"

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

struct ByteSpan {
  size_t begin, end;
};

// Which turns are trained under `mask`.
std::vector<bool> TrainedTurns(const std::vector<ChatTurn>& turns, LossMask mask) {
  std::vector<bool> trained(turns.size(), mask == LossMask::kAll);
  if (mask == LossMask::kAll) return trained;
  for (size_t i = turns.size(); i-- > 0;) {
    if (turns[i].role != "assistant") continue;
    trained[i] = true;
    if (mask == LossMask::kLast) break;
  }
  return trained;
}

}  // namespace

absl::StatusOr<LossMask> ParseLossMask(const std::string& name) {
  if (name == "all") return LossMask::kAll;
  if (name == "assistant") return LossMask::kAssistant;
  if (name == "last") return LossMask::kLast;
  return BadInput(absl::StrCat("loss mask \"", name, "\": expected all, assistant or last"));
}

absl::StatusOr<std::vector<ChatTurn>> ChatTurnsFromJson(const nlohmann::json& record) {
  if (!record.is_object() || !record.contains("messages") || !record["messages"].is_array()) {
    return BadInput("expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}");
  }
  std::vector<ChatTurn> turns;
  for (size_t i = 0; i < record["messages"].size(); ++i) {
    const nlohmann::json& m = record["messages"][i];
    for (const char* key : {"role", "content"}) {
      if (!m.is_object() || !m.contains(key) || !m[key].is_string()) {
        return BadInput(absl::StrCat("messages[", i, "].", key, ": expected a string"));
      }
    }
    turns.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  if (turns.empty()) return BadInput("messages: empty conversation");
  return turns;
}

std::string ChatPrompt(const Tokenizer& tokenizer, const std::vector<ChatTurn>& turns) {
  std::string text;
  for (const ChatTurn& turn : turns) {
    absl::StrAppend(&text, "<|im_start|>", tokenizer.Normalize(turn.role), "\n", tokenizer.Normalize(turn.content),
                    "<|im_end|>\n");
  }
  return text + "<|im_start|>assistant\n";
}

namespace {

// The first marker at or after `from`: (position, placeholder index), or (npos, -1).
std::pair<size_t, int> NextMarker(const std::string& text, size_t from, const std::vector<MediaPlaceholder>& placeholders) {
  std::pair<size_t, int> next{std::string::npos, -1};
  for (size_t p = 0; p < placeholders.size(); ++p) {
    const size_t at = text.find(placeholders[p].marker, from);
    if (at < next.first) next = {at, static_cast<int>(p)};
  }
  return next;
}

// Appends the tokens of text[begin, end), each trained when it starts inside one of `spans`.
void EncodePiece(const Tokenizer& tokenizer, const std::string& text, size_t begin, size_t end,
                 const std::vector<ByteSpan>& spans, TokenizedDocument& doc) {
  std::vector<size_t> starts;
  const size_t first = doc.ids.size();
  tokenizer.EncodeTo(std::string_view(text).substr(begin, end - begin), &doc.ids, &starts);
  doc.mask.resize(doc.ids.size());
  size_t span = 0;
  for (size_t t = 0; t < starts.size(); ++t) {
    const size_t start = begin + starts[t];
    while (span < spans.size() && spans[span].end <= start) ++span;
    doc.mask[first + t] = span < spans.size() && spans[span].begin <= start;
  }
}

}  // namespace

TokenizedDocument EncodeChat(const Tokenizer& tokenizer, const std::vector<ChatTurn>& turns, LossMask mask,
                             const std::vector<MediaPlaceholder>& placeholders) {
  const std::vector<bool> trained = TrainedTurns(turns, mask);
  // Contents are normalized first, so token starts (offsets into the normalized text) index `text`.
  std::string text;
  std::vector<ByteSpan> spans;  // trained bytes of `text`, in order
  for (size_t i = 0; i < turns.size(); ++i) {
    const size_t header = text.size();
    absl::StrAppend(&text, "<|im_start|>", tokenizer.Normalize(turns[i].role), "\n");
    const size_t content = text.size();
    absl::StrAppend(&text, tokenizer.Normalize(turns[i].content), "<|im_end|>");
    const size_t im_end = text.size();
    text += "\n";
    if (trained[i]) spans.push_back(mask == LossMask::kAll ? ByteSpan{header, text.size()} : ByteSpan{content, im_end});
  }
  TokenizedDocument doc;
  std::vector<size_t> used(placeholders.size(), 0);  // occurrences of each marker so far
  size_t begin = 0;
  for (;;) {
    const auto [at, p] = NextMarker(text, begin, placeholders);
    if (p < 0) break;
    EncodePiece(tokenizer, text, begin, at, spans, doc);
    const MediaPlaceholder& placeholder = placeholders[p];
    const int64_t run = used[p] < placeholder.runs.size() ? placeholder.runs[used[p]] : 0;
    ++used[p];
    doc.ids.insert(doc.ids.end(), run, placeholder.id);
    doc.mask.insert(doc.mask.end(), run, 0);
    begin = at + placeholder.marker.size();
  }
  EncodePiece(tokenizer, text, begin, text.size(), spans, doc);
  return doc;
}

}  // namespace zen
