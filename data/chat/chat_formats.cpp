#include "data/chat/chat_formats.h"

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<std::string> StringAt(const Json& object, const char* key, const std::string& where, bool optional) {
  if (!object.contains(key) || object[key].is_null()) {
    if (optional) return std::string();
    return BadInput(absl::StrCat(where, key, ": expected a string"));
  }
  if (!object[key].is_string()) return BadInput(absl::StrCat(where, key, ": expected a string"));
  return object[key].get<std::string>();
}

// A function_call turn's value: one call {"name", "arguments"} or a list of them, as JSON text.
absl::StatusOr<Json> ToolCallsOf(const std::string& value, const std::string& where) {
  Json calls = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (calls.is_object()) calls = Json::array({calls});
  if (!calls.is_array() || calls.empty()) {
    return BadInput(absl::StrCat(where, ": expected a tool call {\"name\": ..., \"arguments\": ...} as JSON"));
  }
  return calls;
}

// ShareGPT's "from" as a chat role.
absl::StatusOr<std::string> RoleOf(const std::string& from, const std::string& where) {
  if (from == "human" || from == "user") return std::string("user");
  if (from == "gpt" || from == "assistant") return std::string("assistant");
  if (from == "observation" || from == "tool") return std::string("tool");
  if (from == "system" || from == "function_call") return from;
  return BadInput(absl::StrCat(where, ": \"", from, "\": expected system, human, gpt, function_call or observation"));
}

}  // namespace

absl::StatusOr<Json> MessagesFromShareGpt(const Json& record) {
  if (!record.is_object() || !record.contains("conversations") || !record["conversations"].is_array()) {
    return BadInput("expected {\"conversations\": [{\"from\": ..., \"value\": ...}, ...]}");
  }
  Json out = {{"messages", Json::array()}};
  Json& messages = out["messages"];
  ZEN_ASSIGN_OR_RETURN(const std::string system, StringAt(record, "system", "", /*optional=*/true));
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  const Json& turns = record["conversations"];
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string where = absl::StrCat("conversations[", i, "].");
    if (!turns[i].is_object()) return BadInput(absl::StrCat("conversations[", i, "]: expected {\"from\": ..., \"value\": ...}"));
    ZEN_ASSIGN_OR_RETURN(const std::string from, StringAt(turns[i], "from", where, false));
    ZEN_ASSIGN_OR_RETURN(const std::string value, StringAt(turns[i], "value", where, false));
    ZEN_ASSIGN_OR_RETURN(const std::string role, RoleOf(from, where + "from"));
    if (role != "function_call") {
      messages.push_back({{"role", role}, {"content", value}});
      continue;
    }
    ZEN_ASSIGN_OR_RETURN(Json calls, ToolCallsOf(value, where + "value"));
    messages.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", std::move(calls)}});
  }
  if (record.contains("tools") && !record["tools"].is_null()) {
    // LLaMA-Factory stores the tool list as a JSON string.
    Json tools = record["tools"].is_string() ? Json::parse(record["tools"].get<std::string>(), nullptr, false)
                                              : record["tools"];
    if (!tools.is_array()) return BadInput("tools: expected a list of tool schemas (or one as a JSON string)");
    if (!tools.empty()) out["tools"] = std::move(tools);
  }
  return out;
}

absl::StatusOr<Json> MessagesFromAlpaca(const Json& record) {
  if (!record.is_object()) return BadInput("expected {\"instruction\": ..., \"output\": ...}");
  ZEN_ASSIGN_OR_RETURN(const std::string instruction, StringAt(record, "instruction", "", false));
  ZEN_ASSIGN_OR_RETURN(const std::string input, StringAt(record, "input", "", true));
  ZEN_ASSIGN_OR_RETURN(const std::string output, StringAt(record, "output", "", false));
  ZEN_ASSIGN_OR_RETURN(const std::string system, StringAt(record, "system", "", true));
  Json out = {{"messages", Json::array()}};
  Json& messages = out["messages"];
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  if (record.contains("history") && !record["history"].is_null()) {
    const Json& history = record["history"];
    if (!history.is_array()) return BadInput("history: expected a list of [query, answer] pairs");
    for (size_t i = 0; i < history.size(); ++i) {
      const Json& pair = history[i];
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        return BadInput(absl::StrCat("history[", i, "]: expected [query, answer] (two strings)"));
      }
      messages.push_back({{"role", "user"}, {"content", pair[0]}});
      messages.push_back({{"role", "assistant"}, {"content", pair[1]}});
    }
  }
  messages.push_back({{"role", "user"}, {"content", input.empty() ? instruction : instruction + "\n" + input}});
  messages.push_back({{"role", "assistant"}, {"content", output}});
  return out;
}

}  // namespace zen
