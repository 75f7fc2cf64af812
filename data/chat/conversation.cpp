#include "data/chat/conversation.h"

#include "absl/strings/str_cat.h"
#include "data/chat/python_json.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

bool IsRole(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool";
}

// {"function": {"name", "arguments"}} (OpenAI) or {"name", "arguments"}, as the template accepts both.
absl::StatusOr<ToolCall> ToolCallFromJson(const Json& call, const std::string& where) {
  if (!call.is_object()) return BadInput(absl::StrCat(where, ": expected an object"));
  const bool wrapped = call.contains("function") && !call["function"].is_null();
  const Json& f = wrapped ? call["function"] : call;
  const std::string at = wrapped ? where + ".function" : where;
  if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) {
    return BadInput(absl::StrCat(at, ".name: expected a string"));
  }
  if (!f.contains("arguments") || f["arguments"].is_null()) {
    return BadInput(absl::StrCat(at, ".arguments: expected an object or a string"));
  }
  const Json& arguments = f["arguments"];
  return ToolCall{f["name"].get<std::string>(),
                  arguments.is_string() ? arguments.get<std::string>() : PythonJsonDumps(arguments)};
}

absl::StatusOr<ChatTurn> TurnFromJson(const Json& m, const std::string& where) {
  if (!m.is_object()) return BadInput(absl::StrCat(where, ": expected an object {\"role\": ..., \"content\": ...}"));
  if (!m.contains("role") || !m["role"].is_string()) return BadInput(absl::StrCat(where, ".role: expected a string"));
  ChatTurn turn;
  turn.role = m["role"].get<std::string>();
  if (!IsRole(turn.role)) {
    return BadInput(absl::StrCat(where, ".role: \"", turn.role, "\": expected system, user, assistant or tool"));
  }
  const bool calls = turn.role == "assistant" && m.contains("tool_calls") && !m["tool_calls"].is_null();
  // An assistant turn that only calls tools may leave content out or null (OpenAI does).
  const bool content_optional = calls && (!m.contains("content") || m["content"].is_null());
  if (!content_optional) {
    if (!m.contains("content") || !m["content"].is_string()) {
      return BadInput(absl::StrCat(where, ".content: expected a string"));
    }
    turn.content = m["content"].get<std::string>();
  }
  if (m.contains("reasoning_content") && !m["reasoning_content"].is_null()) {
    if (!m["reasoning_content"].is_string()) return BadInput(absl::StrCat(where, ".reasoning_content: expected a string"));
    turn.reasoning = m["reasoning_content"].get<std::string>();
  }
  if (calls) {
    if (!m["tool_calls"].is_array()) return BadInput(absl::StrCat(where, ".tool_calls: expected a list"));
    for (size_t k = 0; k < m["tool_calls"].size(); ++k) {
      ZEN_ASSIGN_OR_RETURN(ToolCall call, ToolCallFromJson(m["tool_calls"][k], absl::StrCat(where, ".tool_calls[", k, "]")));
      turn.tool_calls.push_back(std::move(call));
    }
  }
  return turn;
}

}  // namespace

absl::StatusOr<Conversation> ConversationFromJson(const Json& record) {
  if (!record.is_object() || !record.contains("messages") || !record["messages"].is_array()) {
    return BadInput("expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}");
  }
  Conversation conversation;
  const Json& messages = record["messages"];
  for (size_t i = 0; i < messages.size(); ++i) {
    ZEN_ASSIGN_OR_RETURN(ChatTurn turn, TurnFromJson(messages[i], absl::StrCat("messages[", i, "]")));
    conversation.turns.push_back(std::move(turn));
  }
  if (conversation.turns.empty()) return BadInput("messages: empty conversation");
  if (record.contains("tools") && !record["tools"].is_null()) {
    if (!record["tools"].is_array()) return BadInput("tools: expected a list of tool schemas");
    for (const Json& tool : record["tools"]) conversation.tools.push_back(PythonJsonDumps(tool));
  }
  return conversation;
}

}  // namespace zen
