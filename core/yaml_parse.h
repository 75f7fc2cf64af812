// The one way zen parses a YAML file (recipes, model files, sweep files): yaml-cpp, plus the checks it
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

}  // namespace zen
