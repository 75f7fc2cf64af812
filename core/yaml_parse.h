// The one way zen parses YAML (recipe, model and sweep files, override values): yaml-cpp, plus the checks it
// leaves out. yaml-cpp keeps every pair of a mapping that names one key twice, and lookups silently
// return the first, so a second `lr:` further down a recipe would be ignored; here it is bad input.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace zen {

// The text of a YAML file; a folder (which an ifstream opens and reads nothing from, like an empty file)
// or an unreadable path is BadInput naming it.
absl::StatusOr<std::string> ReadYamlText(const std::string& path);

// Parses `text` (from `origin`, a file path or a description). Bad YAML is BadInput "origin:LINE: invalid
// YAML: ..."; a key given twice in one mapping (at any depth) is BadInput naming the key and both lines.
absl::StatusOr<YAML::Node> ParseYaml(const std::string& text, const std::string& origin);

// The value of an override `key=text` (from `origin`, "override 'key=text'"), with the same checks: bad
// YAML is BadInput "origin: the value is not valid YAML: ..."; a key given twice in a mapping of it
// ("a={x: 1, x: 2}") is BadInput "origin: a.x: given twice in the value; keep one of them".
absl::StatusOr<YAML::Node> ParseOverrideValue(const std::string& text, const std::string& key,
                                              const std::string& origin);

}  // namespace zen
