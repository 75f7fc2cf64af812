// Other chat dataset layouts, turned into the {"messages", "tools"} record data/chat/conversation.h reads
// (as LLaMA-Factory reads them):
//   ShareGPT: {"conversations": [{"from": "system" | "human" | "gpt" | "function_call" | "observation",
//              "value": "..."}], "system": "..." (optional), "tools": [...] or "[...]" (optional)}
//     human -> user, gpt -> assistant, observation -> tool; function_call -> an assistant turn calling the
//     tool(s) its value holds as JSON ({"name", "arguments"} or a list of them); "user", "assistant" and
//     "tool" are taken as they are.
//   Alpaca: {"instruction": "...", "input": "..." (optional), "output": "...", "system": "..." (optional),
//            "history": [["query", "answer"], ...] (optional)}
//     -> [system], the history's turns, user: instruction + "\n" + input (just the instruction when input is
//     empty), assistant: output.
// Errors name the field: "conversations[3].from: \"bot\": expected system, human, gpt, ...".
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace zen {

absl::StatusOr<nlohmann::ordered_json> MessagesFromShareGpt(const nlohmann::ordered_json& record);
absl::StatusOr<nlohmann::ordered_json> MessagesFromAlpaca(const nlohmann::ordered_json& record);

}  // namespace zen
