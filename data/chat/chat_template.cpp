#include "data/chat/chat_template.h"

#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zen {
namespace {

struct ByteSpan {
  size_t begin, end;
};

// The text of the template and which of its bytes are trained.
struct RenderedChat {
  std::string text;
  std::vector<ByteSpan> trained;  // in order, not overlapping
};

constexpr char kToolsIntro[] =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
constexpr char kToolsOutro[] =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call><|im_end|>\n";

std::string_view StripLeft(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
std::string_view StripRight(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// An assistant turn's reasoning and answer as the template splits them: reasoning_content when given,
// else the text between <think> and </think> in the content, which then keeps only what follows </think>.
std::pair<std::string, std::string> ReasoningAndAnswer(const ChatTurn& turn) {
  if (turn.reasoning) return {*turn.reasoning, turn.content};
  const std::string_view content = turn.content;
  const size_t first_end = content.find("</think>");
  if (first_end == std::string_view::npos) return {"", turn.content};
  std::string_view reasoning = StripRight(content.substr(0, first_end));  // split('</think>')[0].rstrip('\n')
  if (const size_t open = reasoning.rfind("<think>"); open != std::string_view::npos) {
    reasoning = reasoning.substr(open + 7);  // .split('<think>')[-1]
  }
  const size_t last_end = content.rfind("</think>");
  return {std::string(StripLeft(reasoning)), std::string(StripLeft(content.substr(last_end + 8)))};
}

// The last user turn that is not a tool result written by hand; the turns after it are the current
// exchange, whose reasoning the template keeps.
size_t LastQuery(const std::vector<ChatTurn>& turns) {
  for (size_t i = turns.size(); i-- > 0;) {
    const std::string& c = turns[i].content;
    if (turns[i].role == "user" && !(absl::StartsWith(c, "<tool_response>") && absl::EndsWith(c, "</tool_response>"))) {
      return i;
    }
  }
  return turns.size() - 1;
}

// Which turns are trained under `mask`.
std::vector<bool> TrainedTurns(const std::vector<ChatTurn>& turns, LossMask mask) {
  std::vector<bool> trained(turns.size(), false);
  for (size_t i = turns.size(); i-- > 0;) {
    if (mask == LossMask::kAll) {
      trained[i] = turns[i].role != "tool";
    } else if (turns[i].role == "assistant") {
      trained[i] = true;
      if (mask == LossMask::kLast) break;
    }
  }
  return trained;
}

// Writes the template's text piece by piece, recording the trained bytes. Contents go through the
// tokenizer's normalizer (when there is one) first, so token offsets index the text.
class ChatWriter {
 public:
  explicit ChatWriter(const Tokenizer* tokenizer) : tokenizer_(tokenizer) {}

  void Literal(std::string_view s, bool trained) { Append(std::string(s), trained); }
  void Content(const std::string& s, bool trained) { Append(tokenizer_ ? tokenizer_->Normalize(s) : s, trained); }
  RenderedChat Finish() { return std::move(out_); }

 private:
  void Append(const std::string& s, bool trained) {
    const size_t begin = out_.text.size();
    out_.text += s;
    if (!trained || s.empty()) return;
    if (!out_.trained.empty() && out_.trained.back().end == begin) {
      out_.trained.back().end = out_.text.size();
    } else {
      out_.trained.push_back({begin, out_.text.size()});
    }
  }

  const Tokenizer* tokenizer_;
  RenderedChat out_;
};

struct RenderOptions {
  ChatTemplate style = ChatTemplate::kQwen3;
  std::vector<bool> trained;  // per turn; empty = nothing trained
  bool whole_turns = false;   // LossMask::kAll: headers and newlines of trained turns too
  bool add_generation_prompt = false;
  std::optional<bool> enable_thinking;
};

// The system turn: the first turn's content when it is a system turn, with the tools after it.
void WriteSystem(const Conversation& c, const RenderOptions& o, ChatWriter& w) {
  const bool system = !c.turns.empty() && c.turns[0].role == "system";
  if (c.tools.empty() && !system) return;
  const bool trained = o.whole_turns && (system ? o.trained[0] : !o.trained.empty());
  w.Literal("<|im_start|>system\n", trained);
  if (system) w.Content(c.turns[0].content, trained);
  if (c.tools.empty()) {
    w.Literal("<|im_end|>\n", trained);
    return;
  }
  if (system) w.Literal("\n\n", trained);
  w.Literal(kToolsIntro, trained);
  for (const std::string& tool : c.tools) {
    w.Literal("\n", trained);
    w.Content(tool, trained);
  }
  w.Literal(kToolsOutro, trained);
}

// `reasoning` and `content` as the template splits them (ReasoningAndAnswer, or the content as written).
void WriteAssistant(const ChatTurn& turn, const std::string& reasoning, const std::string& content, bool think_block,
                    bool trained, const RenderOptions& o, ChatWriter& w) {
  w.Literal("<|im_start|>assistant\n", trained && o.whole_turns);
  if (think_block) {
    w.Literal("<think>\n", trained);
    w.Content(std::string(StripRight(StripLeft(reasoning))), trained);
    w.Literal("\n</think>\n\n", trained);
    w.Content(std::string(StripLeft(content)), trained);
  } else {
    w.Content(content, trained);
  }
  for (size_t k = 0; k < turn.tool_calls.size(); ++k) {
    if (k > 0 || !content.empty()) w.Literal("\n", trained);
    w.Literal("<tool_call>\n{\"name\": \"", trained);
    w.Content(turn.tool_calls[k].name, trained);
    w.Literal("\", \"arguments\": ", trained);
    w.Content(turn.tool_calls[k].arguments, trained);
    w.Literal("}\n</tool_call>", trained);
  }
  w.Literal("<|im_end|>", trained);
  w.Literal("\n", trained && o.whole_turns);
}

// Tool results: the first of a run opens a user turn, the last closes it; never trained.
void WriteToolResult(const std::vector<ChatTurn>& turns, size_t i, ChatWriter& w) {
  if (i == 0 || turns[i - 1].role != "tool") w.Literal("<|im_start|>user", false);
  w.Literal("\n<tool_response>\n", false);
  w.Content(turns[i].content, false);
  w.Literal("\n</tool_response>", false);
  if (i + 1 == turns.size() || turns[i + 1].role != "tool") w.Literal("<|im_end|>\n", false);
}

RenderedChat Render(const Conversation& c, const RenderOptions& o, const Tokenizer* tokenizer) {
  ChatWriter w(tokenizer);
  const std::vector<ChatTurn>& turns = c.turns;
  WriteSystem(c, o, w);
  const size_t last_query = LastQuery(turns);
  for (size_t i = 0; i < turns.size(); ++i) {
    const ChatTurn& turn = turns[i];
    const bool trained = !o.trained.empty() && o.trained[i];
    if (turn.role == "user" || (turn.role == "system" && i > 0)) {
      w.Literal(absl::StrCat("<|im_start|>", turn.role, "\n"), trained);
      w.Content(turn.content, trained);
      w.Literal("<|im_end|>\n", trained);
    } else if (turn.role == "assistant") {
      const bool qwen3 = o.style == ChatTemplate::kQwen3;
      const auto [reasoning, content] = qwen3 ? ReasoningAndAnswer(turn) : std::pair<std::string, std::string>{"", turn.content};
      const bool think_block = qwen3 && i > last_query && (i + 1 == turns.size() || !reasoning.empty());
      WriteAssistant(turn, reasoning, content, think_block, trained, o, w);
    } else if (turn.role == "tool") {
      WriteToolResult(turns, i, w);
    }
  }
  if (o.add_generation_prompt) {
    w.Literal("<|im_start|>assistant\n", false);
    if (o.enable_thinking == false) w.Literal("<think>\n\n</think>\n\n", false);
  }
  return w.Finish();
}

}  // namespace

absl::StatusOr<LossMask> ParseLossMask(const std::string& name) {
  if (name == "all") return LossMask::kAll;
  if (name == "assistant") return LossMask::kAssistant;
  if (name == "last") return LossMask::kLast;
  return BadInput(absl::StrCat("loss mask \"", name, "\": expected all, assistant or last"));
}

absl::StatusOr<ChatTemplate> ParseChatTemplate(const std::string& name) {
  if (name == "qwen3") return ChatTemplate::kQwen3;
  if (name == "plain") return ChatTemplate::kPlain;
  return BadInput(absl::StrCat("chat template \"", name, "\": expected qwen3 or plain"));
}

std::string RenderChat(const Conversation& conversation, ChatTemplate style, bool add_generation_prompt,
                       std::optional<bool> enable_thinking) {
  return Render(conversation, {style, {}, false, add_generation_prompt, enable_thinking}, nullptr).text;
}

std::string ChatPrompt(const Tokenizer& tokenizer, const Conversation& conversation,
                       std::optional<bool> enable_thinking) {
  return Render(conversation, {ChatTemplate::kQwen3, {}, false, true, enable_thinking}, &tokenizer).text;
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

TokenizedDocument EncodeChat(const Tokenizer& tokenizer, const Conversation& conversation, LossMask mask,
                             const std::vector<MediaPlaceholder>& placeholders, ChatTemplate style) {
  const RenderedChat chat = Render(
      conversation, {style, TrainedTurns(conversation.turns, mask), mask == LossMask::kAll, false, std::nullopt},
      &tokenizer);
  const std::string& text = chat.text;
  TokenizedDocument doc;
  std::vector<size_t> used(placeholders.size(), 0);  // occurrences of each marker so far
  size_t begin = 0;
  for (;;) {
    const auto [at, p] = NextMarker(text, begin, placeholders);
    if (p < 0) break;
    EncodePiece(tokenizer, text, begin, at, chat.trained, doc);
    const MediaPlaceholder& placeholder = placeholders[p];
    const int64_t run = used[p] < placeholder.runs.size() ? placeholder.runs[used[p]] : 0;
    ++used[p];
    doc.ids.insert(doc.ids.end(), run, placeholder.id);
    doc.mask.insert(doc.mask.end(), run, 0);
    begin = at + placeholder.marker.size();
  }
  EncodePiece(tokenizer, text, begin, text.size(), chat.trained, doc);
  return doc;
}

}  // namespace zen
