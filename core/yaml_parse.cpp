#include "core/yaml_parse.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace zen {
namespace {

// BadInput for the first key that a mapping under `node` holds twice; `path` is the node's dotted key.
absl::Status CheckUniqueKeys(const YAML::Node& node, const std::string& path, const std::string& origin) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      ZEN_RETURN_IF_ERROR(CheckUniqueKeys(node[i], absl::StrCat(path, "[", i, "]"), origin));
    }
    return absl::OkStatus();
  }
  if (!node.IsMap()) return absl::OkStatus();
  std::map<std::string, int> first_line;  // key -> 1-based line where the mapping first names it
  for (const auto& kv : node) {
    const int line = kv.first.Mark().line + 1;
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const std::string dotted = path.empty() ? key : absl::StrCat(path, ".", key);
    if (kv.first.IsScalar()) {
      const auto [it, inserted] = first_line.emplace(key, line);
      if (!inserted) {
        return BadInput(absl::StrCat(origin, ":", line, ": ", dotted, ": given twice in this file (lines ",
                                     it->second, " and ", line, "); keep one of them"));
      }
    }
    ZEN_RETURN_IF_ERROR(CheckUniqueKeys(kv.second, dotted, origin));
  }
  return absl::OkStatus();
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
  ZEN_RETURN_IF_ERROR(CheckUniqueKeys(parsed, "", origin));
  return parsed;
}

}  // namespace zen
