// Chat records in Qwen3's chat template (the tokenizer_config.json of Qwen3's models), with the loss mask
// that decides which turns are trained. The text is exactly what transformers' apply_chat_template gives
// with that template (tests/unit/chat_template_oracle_test.cpp checks it, tests/fixtures/ holds the template):
//   [<|im_start|>system\n{system}{\n\n# Tools ... <tools>\n{tool}...\n</tools> ...}<|im_end|>\n]
//   <|im_start|>user\n{content}<|im_end|>\n
//   <|im_start|>assistant\n[<think>\n{reasoning}\n</think>\n\n]{content}[\n<tool_call>\n{...}\n</tool_call>]<|im_end|>\n
//   <|im_start|>user\n<tool_response>\n{tool result}\n</tool_response>[\n<tool_response>...]<|im_end|>\n
// An assistant turn after the last user query carries its reasoning (`reasoning_content`, or an inline
// <think>...</think> in its content) in a think block; the final turn always has one, empty when it has
// none; earlier turns lose their reasoning. Consecutive tool results merge into one user turn.
// A trained turn trains its output and its <|im_end|> (so the model learns to stop), never the
// "<|im_start|>role\n" header or the newline after <|im_end|>; tool results are never trained.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/chat/conversation.h"
#include "data/shards/document.h"

namespace zen {

enum class LossMask {
  kAll,        // every token of every turn but tool results
  kAssistant,  // the assistant turns (the default)
  kLast,       // only the last assistant turn
};
absl::StatusOr<LossMask> ParseLossMask(const std::string& name);  // "all" | "assistant" | "last"

enum class ChatTemplate {
  kQwen3,  // Qwen3's template, exactly (the default)
  kPlain,  // the same, but assistant content as written: no think block added, none taken out
};
absl::StatusOr<ChatTemplate> ParseChatTemplate(const std::string& name);  // "qwen3" | "plain"

// The template's text, as apply_chat_template(messages, tools=..., tokenize=False,
// add_generation_prompt=..., enable_thinking=...) gives it; enable_thinking unset = not passed.
std::string RenderChat(const Conversation& conversation, ChatTemplate style = ChatTemplate::kQwen3,
                       bool add_generation_prompt = false, std::optional<bool> enable_thinking = std::nullopt);

// The text a model continues to answer the conversation (add_generation_prompt), normalized for the
// tokenizer.
std::string ChatPrompt(const Tokenizer& tokenizer, const Conversation& conversation,
                       std::optional<bool> enable_thinking = std::nullopt);

// A marker in the contents (Zen-Omni's "<image>", data/media/media.h) that becomes a run of one token id: its
// i-th occurrence in the rendered conversation becomes runs[i] copies of `id`, never trained.
struct MediaPlaceholder {
  std::string marker;
  int32_t id = 0;
  std::vector<int64_t> runs;
};

// Renders the conversation and tokenizes it as one text (so tokens merge across turn boundaries exactly as
// they do for the whole rendered text). A token is trained when it starts inside a trained part.
// The tokenizer must know <|im_start|> and <|im_end|>.
// With placeholders, the text between markers is tokenized piece by piece and the runs are spliced in
// between, so the tokenizer need not know the markers or the placeholder ids (nor can text merge into
// them); the caller checks that each marker occurs runs.size() times.
TokenizedDocument EncodeChat(const Tokenizer& tokenizer, const Conversation& conversation, LossMask mask,
                             const std::vector<MediaPlaceholder>& placeholders = {},
                             ChatTemplate style = ChatTemplate::kQwen3);

}  // namespace zen
