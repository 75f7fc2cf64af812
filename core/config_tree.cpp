#include "core/config_tree.h"

#include "absl/strings/str_split.h"
#include "core/yaml_parse.h"

namespace zen {

std::vector<std::string> SplitDotted(const std::string& dotted) {
  return absl::StrSplit(dotted, '.', absl::SkipEmpty());
}

absl::StatusOr<ConfigTree> ConfigTree::FromString(const std::string& yaml, const std::string& origin) {
  ConfigTree tree;
  ZEN_ASSIGN_OR_RETURN(const YAML::Node parsed, ParseYaml(yaml, origin));
  if (parsed.IsNull()) return tree;
  if (!parsed.IsMap()) return BadInput(absl::StrCat(origin, ": expected a mapping of keys at the top level"));
  tree.root_ = YAML::Clone(parsed);
  tree.RecordOrigins(parsed, "", origin);
  return tree;
}

absl::StatusOr<ConfigTree> ConfigTree::FromFile(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(const std::string text, ReadYamlText(path));
  return FromString(text, path);
}

void ConfigTree::RecordOrigins(const YAML::Node& node, const std::string& prefix, const std::string& file) {
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    origins_[key] = absl::StrCat(file, ":", kv.first.Mark().line + 1);
    RecordOrigins(kv.second, key, file);
  }
}

// Recursively lays `over` onto `base`; mappings merge, anything else replaces.
static void MergeNodes(YAML::Node base, const YAML::Node& over) {
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    YAML::Node existing = base[key];
    if (kv.second.IsMap() && existing.IsMap()) {
      MergeNodes(existing, kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

void ConfigTree::Merge(const ConfigTree& other) {
  MergeNodes(root_, other.root_);
  for (const auto& [key, origin] : other.origins_) origins_[key] = origin;
}

YAML::Node ConfigTree::Get(const std::string& dotted) const {
  // yaml-cpp nodes are references: walk with reset(), never assignment, which would write into the tree.
  YAML::Node current = root_;
  for (const std::string& part : SplitDotted(dotted)) {
    if (!current.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = static_cast<const YAML::Node&>(current)[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    current.reset(next);
  }
  return current;
}

void ConfigTree::Set(const std::string& dotted, const YAML::Node& value, const std::string& origin) {
  std::vector<std::string> parts = SplitDotted(dotted);
  YAML::Node current = root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = current[parts[i]];
    if (!next.IsMap()) {
      current[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = current[parts[i]];
    }
    current.reset(next);
  }
  current[parts.back()] = value;
  origins_[dotted] = origin;
}

void ConfigTree::Erase(const std::string& dotted) {
  // The key's origin and its descendants' ("dotted.*", which sort before "dotted/") go with it, so
  // OriginOf never names the line of a deleted value.
  origins_.erase(dotted);
  origins_.erase(origins_.lower_bound(dotted + "."), origins_.lower_bound(dotted + "/"));
  std::vector<std::string> parts = SplitDotted(dotted);
  YAML::Node current = root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = current[parts[i]];
    if (!next.IsMap()) return;
    current.reset(next);
  }
  current.remove(parts.back());
}

absl::Status ConfigTree::ApplyOverride(const std::string& text) {
  const std::string origin = absl::StrCat("override '", text, "'");
  if (!text.empty() && text[0] == '~') {
    const std::string key = text.substr(1);
    if (key.empty()) return BadInput(absl::StrCat(origin, ": expected ~key.path"));
    Erase(key);
    return absl::OkStatus();
  }
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return BadInput(absl::StrCat(origin, ": expected key.path=value or ~key.path"));
  }
  const std::string key = text.substr(0, eq);
  ZEN_ASSIGN_OR_RETURN(const YAML::Node value, ParseOverrideValue(text.substr(eq + 1), key, origin));
  Set(key, value, origin);
  return absl::OkStatus();
}

static void CollectLeaves(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (!node.IsMap()) {
    out.push_back(prefix);
    return;
  }
  for (const auto& kv : node) {
    const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    CollectLeaves(kv.second, key, out);
  }
}

std::vector<std::string> ConfigTree::LeafPaths() const {
  std::vector<std::string> leaves;
  for (const auto& kv : root_) CollectLeaves(kv.second, kv.first.Scalar(), leaves);
  return leaves;
}

std::string ConfigTree::OriginOf(const std::string& dotted) const {
  std::string key = dotted;
  while (!key.empty()) {
    auto it = origins_.find(key);
    if (it != origins_.end()) return it->second;
    const size_t dot = key.rfind('.');
    if (dot == std::string::npos) break;
    key = key.substr(0, dot);
  }
  return "recipe";
}

}  // namespace zen
