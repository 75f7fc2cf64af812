// JSON text exactly as Python's json.dumps(value, ensure_ascii=False) writes it: ", " and ": " between
// items, keys in the order given, non-ASCII characters as they are, floats as Python's repr. This is what
// the `tojson` filter of transformers' chat templates gives (tool schemas and tool-call arguments).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace zen {

std::string PythonJsonDumps(const nlohmann::ordered_json& value);

}  // namespace zen
