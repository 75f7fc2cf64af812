// A chat record as OpenAI-style JSON gives it, which Qwen3's chat template renders (data/chat/chat_template.h):
//   {"messages": [{"role": "system" | "user" | "assistant" | "tool", "content": "...",
//                  "reasoning_content": "..." (assistant, optional),
//                  "tool_calls": [{"function": {"name": "...", "arguments": {...} or "..."}}] (assistant)}],
//    "tools": [{...tool schema...}] (optional)}
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace zen {

struct ToolCall {
  std::string name;
  std::string arguments;  // as the template writes it: the string given, or the JSON object as tojson writes it
};

struct ChatTurn {
  std::string role;
  std::string content;
  std::optional<std::string> reasoning;  // reasoning_content, when the record gives one
  std::vector<ToolCall> tool_calls;
};

struct Conversation {
  Conversation() = default;
  Conversation(std::vector<ChatTurn> t) : turns(std::move(t)) {}  // NOLINT: a list of turns is a conversation
  Conversation(std::initializer_list<ChatTurn> t) : turns(t) {}

  std::vector<ChatTurn> turns;
  std::vector<std::string> tools;  // each tool's schema as tojson writes it
};

// Reads a record's "messages" (and "tools"); the error names the offending field, e.g.
// "messages[2].tool_calls[0].function.name: expected a string". Key order is kept (ordered_json), since
// the template writes tool schemas and arguments in the order given.
absl::StatusOr<Conversation> ConversationFromJson(const nlohmann::ordered_json& record);

}  // namespace zen
