#include "core/yaml_parse.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace zen {
namespace {

// A key that one mapping names twice: its dotted path and the two 1-based lines (within the parsed text).
struct RepeatedKey {
  std::string dotted;
  int first_line = 0, line = 0;
};

// The first key that a mapping under `node` holds twice; `path` is the node's dotted key.
std::optional<RepeatedKey> FindRepeatedKey(const YAML::Node& node, const std::string& path) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (auto repeated = FindRepeatedKey(node[i], absl::StrCat(path, "[", i, "]"))) return repeated;
    }
    return std::nullopt;
  }
  if (!node.IsMap()) return std::nullopt;
  std::map<std::string, int> first_line;  // key -> 1-based line where the mapping first names it
  for (const auto& kv : node) {
    const int line = kv.first.Mark().line + 1;
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const std::string dotted = path.empty() ? key : absl::StrCat(path, ".", key);
    if (kv.first.IsScalar()) {
      const auto [it, inserted] = first_line.emplace(key, line);
      if (!inserted) return RepeatedKey{dotted, it->second, line};
    }
    if (auto repeated = FindRepeatedKey(kv.second, dotted)) return repeated;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> ReadYamlText(const std::string& path) {
  if (std::filesystem::is_directory(path)) return BadInput(absl::StrCat(path, ": is a folder, expected a YAML file"));
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat(path, ": cannot read the file"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<YAML::Node> ParseYaml(const std::string& text, const std::string& origin) {
  YAML::Node parsed;
  try {
    parsed = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return BadInput(absl::StrCat(origin, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
  if (const std::optional<RepeatedKey> r = FindRepeatedKey(parsed, "")) {
    return BadInput(absl::StrCat(origin, ":", r->line, ": ", r->dotted, ": given twice in this file (lines ",
                                 r->first_line, " and ", r->line, "); keep one of them"));
  }
  return parsed;
}

absl::StatusOr<YAML::Node> ParseOverrideValue(const std::string& text, const std::string& key,
                                              const std::string& origin) {
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return BadInput(absl::StrCat(origin, ": the value is not valid YAML: ", e.msg));
  }
  if (const std::optional<RepeatedKey> r = FindRepeatedKey(value, key)) {
    return BadInput(absl::StrCat(origin, ": ", r->dotted, ": given twice in the value; keep one of them"));
  }
  return value;
}

}  // namespace zen
