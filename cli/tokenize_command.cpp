// `zen tokenize --tokenizer PATH|bytes [--input FILE]`: JSON lines {"text": "..."} -> {"ids": [...]};
// with --chat, chat records {"messages", "tools"} in Qwen3's template (data/chat/chat_template.h) ->
// {"ids": [...], "loss_mask": [...]}, so the rendering and masks can be diffed against other tooling.
// Lines come from FILE or stdin and go to stdout.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "data/chat/chat_template.h"  // defines: EncodeChat, ChatPrompt, ConversationFromJson
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;  // chat records keep their key order (tool schemas are written as given)

struct TokenizeOptions {
  std::string tokenizer;
  bool chat = false;
  LossMask loss_mask = LossMask::kAssistant;
  ChatTemplate chat_template = ChatTemplate::kQwen3;
};

void AppendList(const char* key, const std::vector<int32_t>& values, std::string* out) {
  absl::StrAppend(out, "\"", key, "\": [");
  for (size_t k = 0; k < values.size(); ++k) absl::StrAppend(out, k ? ", " : "", values[k]);
  out->append("]");
}

// One input line's output line, or an error (without the location).
absl::StatusOr<std::string> TokenizeLine(const std::string& line, const Tokenizer& tokenizer, const TokenizeOptions& o) {
  const auto json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return BadInput("not valid JSON");
  std::string out = "{";
  if (!o.chat) {
    if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) {
      return BadInput("expected an object {\"text\": \"...\"}");
    }
    AppendList("ids", tokenizer.Encode(json["text"].get<std::string>()), &out);
    return out + "}\n";
  }
  ZEN_ASSIGN_OR_RETURN(const Conversation conversation, ConversationFromJson(json));
  TokenizedDocument doc;
  if (json.value("add_generation_prompt", false)) {  // a prompt: nothing in it is trained
    std::optional<bool> thinking;
    if (json.contains("enable_thinking") && json["enable_thinking"].is_boolean()) thinking = json["enable_thinking"].get<bool>();
    doc.ids = tokenizer.Encode(ChatPrompt(tokenizer, conversation, thinking));
    doc.mask.assign(doc.ids.size(), 0);
  } else {
    doc = EncodeChat(tokenizer, conversation, o.loss_mask, {}, o.chat_template);
  }
  AppendList("ids", doc.ids, &out);
  out += ", ";
  AppendList("loss_mask", std::vector<int32_t>(doc.mask.begin(), doc.mask.end()), &out);
  return out + "}\n";
}

absl::Status Tokenize(const TokenizeOptions& o, const std::string& input) {
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, OpenTokenizer(o.tokenizer));
  if (o.chat && (tokenizer->TokenId("<|im_start|>") < 0 || tokenizer->TokenId("<|im_end|>") < 0)) {
    return BadInput(absl::StrCat("--tokenizer ", o.tokenizer, " has no <|im_start|> / <|im_end|> for --chat"));
  }
  std::ifstream file;
  if (!input.empty()) {
    file.open(input, std::ios::binary);
    if (!file) return BadInput(absl::StrCat("--input ", input, ": cannot open"));
  }
  std::istream& in = input.empty() ? std::cin : file;
  const std::string name = input.empty() ? "stdin" : input;
  std::ios::sync_with_stdio(false);
  std::string line;
  for (int64_t line_number = 1; std::getline(in, line); ++line_number) {
    absl::StatusOr<std::string> out = TokenizeLine(line, *tokenizer, o);
    if (!out.ok()) return Annotate(out.status(), absl::StrCat(name, ":", line_number));
    std::fwrite(out->data(), 1, out->size(), stdout);
  }
  return absl::OkStatus();
}

}  // namespace

int TokenizeCommand(const Args& args) {
  auto flags = ParseFlags(args, /*switches=*/{"--chat"}, /*single=*/{"--tokenizer", "--input", "--loss-mask", "--chat-template"},
                          /*multi=*/{});
  if (!flags.ok()) return ExitCode(flags.status());
  if (!flags->Has("--tokenizer")) return ExitCode(BadInput("--tokenizer: expected a tokenizer.json path or \"bytes\""));
  TokenizeOptions o;
  o.tokenizer = flags->Get("--tokenizer");
  o.chat = flags->Has("--chat");
  absl::StatusOr<LossMask> mask = ParseLossMask(flags->Get("--loss-mask", "assistant"));
  if (!mask.ok()) return ExitCode(Annotate(mask.status(), "--loss-mask"));
  absl::StatusOr<ChatTemplate> style = ParseChatTemplate(flags->Get("--chat-template", "qwen3"));
  if (!style.ok()) return ExitCode(Annotate(style.status(), "--chat-template"));
  o.loss_mask = *mask;
  o.chat_template = *style;
  const absl::Status status = Tokenize(o, flags->Get("--input"));
  std::fflush(stdout);
  return ExitCode(status);
}

}  // namespace zen
