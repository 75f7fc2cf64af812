// Chat records in Qwen3's template, with the loss mask that decides which turns are trained:
//   <|im_start|>system\n...<|im_end|>\n<|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n...<|im_end|>\n
// A trained turn trains its content and its <|im_end|> (so the model learns to stop), never the
// "<|im_start|>role\n" header or the newline after <|im_end|>.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/shards/document.h"

namespace zen {

enum class LossMask {
  kAll,        // every token of every turn
  kAssistant,  // the assistant turns (the default)
  kLast,       // only the last assistant turn
};
absl::StatusOr<LossMask> ParseLossMask(const std::string& name);  // "all" | "assistant" | "last"

struct ChatTurn {
  std::string role;
  std::string content;
};

// {"messages": [{"role": "...", "content": "..."}, ...]}; the error names the offending field.
absl::StatusOr<std::vector<ChatTurn>> ChatTurnsFromJson(const nlohmann::json& record);

// The text a model continues to answer `turns`: each turn as above, then "<|im_start|>assistant\n"
// (Qwen3's template with add_generation_prompt).
std::string ChatPrompt(const Tokenizer& tokenizer, const std::vector<ChatTurn>& turns);

// A marker in the contents (Zen-Omni's "<image>", data/media/media.h) that becomes a run of one token id: its
// i-th occurrence in the rendered conversation becomes runs[i] copies of `id`, never trained.
struct MediaPlaceholder {
  std::string marker;
  int32_t id = 0;
  std::vector<int64_t> runs;
};

// Renders the turns and tokenizes them as one text (so tokens merge across turn boundaries exactly as
// they would for the whole rendered conversation). A token is trained when it starts inside a trained
// turn's content or <|im_end|>. The tokenizer must know <|im_start|> and <|im_end|>.
// With placeholders, the text between markers is tokenized piece by piece and the runs are spliced in
// between, so the tokenizer need not know the markers or the placeholder ids (nor can text merge into
// them); the caller checks that each marker occurs runs.size() times.
TokenizedDocument EncodeChat(const Tokenizer& tokenizer, const std::vector<ChatTurn>& turns, LossMask mask,
                             const std::vector<MediaPlaceholder>& placeholders = {});

}  // namespace zen
