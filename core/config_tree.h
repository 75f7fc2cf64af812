// A YAML tree plus where each key came from ("recipe.yaml:14", "override train.seed=3"), so that every
// error about a key can name the file and line the user must fix.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace zen {

class ConfigTree {
 public:
  // Parses a YAML file whose top level is a mapping. Bad YAML is BadInput naming file and line.
  static absl::StatusOr<ConfigTree> FromFile(const std::string& path);
  static absl::StatusOr<ConfigTree> FromString(const std::string& yaml, const std::string& origin);

  // Lays `other` over this tree: its leaves replace ours, mappings merge key by key.
  void Merge(const ConfigTree& other);

  // `a.b.c=value` (value parsed as YAML) or `~a.b` (deletes the key). Bad syntax is BadInput.
  absl::Status ApplyOverride(const std::string& override_text);

  // The node at a dotted path, or an undefined node.
  YAML::Node Get(const std::string& dotted) const;
  bool Has(const std::string& dotted) const { return Get(dotted).IsDefined() && !Get(dotted).IsNull(); }
  void Set(const std::string& dotted, const YAML::Node& value, const std::string& origin);
  void Erase(const std::string& dotted);

  // Dotted paths of every leaf (scalars and sequences), in document order.
  std::vector<std::string> LeafPaths() const;

  // "file:line" of a key, or of its nearest ancestor that has one.
  std::string OriginOf(const std::string& dotted) const;

  const YAML::Node& root() const { return root_; }

 private:
  void RecordOrigins(const YAML::Node& node, const std::string& prefix, const std::string& file);

  YAML::Node root_ = YAML::Node(YAML::NodeType::Map);
  std::map<std::string, std::string> origins_;
};

// Splits "a.b.c" into {"a", "b", "c"}.
std::vector<std::string> SplitDotted(const std::string& dotted);

}  // namespace zen
