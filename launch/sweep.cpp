#include "launch/sweep.h"

#include <cctype>
#include <set>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/recipe_loader.h"
#include "core/yaml_parse.h"  // defines: ParseYaml, ReadYamlText

namespace zen {
namespace {

constexpr size_t kMaxNameLength = 120;  // well under the 255 bytes a file name may have

std::string Origin(const std::string& path, const YAML::Node& node) {
  return absl::StrCat(path, ":", node.Mark().line + 1);
}

// The text an override takes for a value: scalars as written (2.0e-5 stays 2.0e-5), lists in flow style.
std::string ValueText(const YAML::Node& value) {
  if (value.IsScalar()) return value.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << value;
  return out.c_str();
}

// Axes from a grid:/zip: mapping. Keys may be dotted or nested; every leaf must be a non-empty list.
absl::Status CollectAxes(const YAML::Node& node, const std::string& prefix, const std::string& section,
                         const std::string& path, std::vector<SweepAxis>& axes) {
  for (const auto& kv : node) {
    const std::string key = prefix.empty() ? kv.first.Scalar() : absl::StrCat(prefix, ".", kv.first.Scalar());
    const std::string origin = Origin(path, kv.first);
    if (kv.second.IsMap()) {
      ZEN_RETURN_IF_ERROR(CollectAxes(kv.second, key, section, path, axes));
      continue;
    }
    if (!kv.second.IsSequence()) {
      return BadInput(absl::StrCat(origin, ": ", section, ": ", key, ": expected a list of values, got \"",
                                   ValueText(kv.second), "\""));
    }
    if (kv.second.size() == 0) {
      return BadInput(absl::StrCat(origin, ": ", section, ": ", key, ": the list of values is empty"));
    }
    SweepAxis axis{key, {}, origin};
    for (const auto& value : kv.second) {
      // A mapping would replace the whole subtree rather than merge into it: sweep its leaves instead.
      if (value.IsMap()) {
        return BadInput(absl::StrCat(origin, ": ", section, ": ", key,
                                     ": values must be scalars or lists; sweep the keys inside a mapping one by one"));
      }
      axis.values.push_back(ValueText(value));
    }
    axes.push_back(std::move(axis));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SweepAxis>> ReadAxes(const YAML::Node& root, const std::string& section,
                                                const std::string& path) {
  std::vector<SweepAxis> axes;
  const YAML::Node node = root[section];
  if (!node.IsDefined()) return axes;
  if (!node.IsMap() && !node.IsNull()) {
    return BadInput(absl::StrCat(Origin(path, node), ": ", section, ": expected a mapping of key: [values]"));
  }
  if (node.IsMap()) ZEN_RETURN_IF_ERROR(CollectAxes(node, "", section, path, axes));
  if (axes.empty()) {
    return BadInput(absl::StrCat(Origin(path, node), ": ", section, ": empty; give at least one key: [values]"));
  }
  return axes;
}

absl::Status CheckZipLengths(const std::vector<SweepAxis>& zip) {
  for (const SweepAxis& axis : zip) {
    if (axis.values.size() != zip.front().values.size()) {
      return BadInput(absl::StrCat(axis.origin, ": zip: ", axis.key, " has ", axis.values.size(), " values but ",
                                   zip.front().key, " has ", zip.front().values.size(),
                                   " (zip lists vary together and need equal lengths)"));
    }
  }
  return absl::OkStatus();
}

// Each key swept once; output_dir belongs to the sweep, which gives every run its own.
absl::Status CheckSweptKeys(const SweepSpec& spec) {
  std::set<std::string> seen;
  for (const auto* axes : {&spec.grid, &spec.zip}) {
    for (const SweepAxis& axis : *axes) {
      if (axis.key == "output_dir") {
        return BadInput(absl::StrCat(axis.origin, ": output_dir cannot be swept: each run gets its own folder "
                                     "below the sweep's output_dir"));
      }
      if (!seen.insert(axis.key).second) {
        return BadInput(absl::StrCat(axis.origin, ": ", axis.key, " is swept twice (grid and zip, or dotted and nested)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadString(const YAML::Node& root, const std::string& key, const std::string& path) {
  const YAML::Node node = root[key];
  if (!node.IsDefined() || node.IsNull()) return BadInput(absl::StrCat(path, ": ", key, ": missing (required)"));
  if (!node.IsScalar()) return BadInput(absl::StrCat(Origin(path, node), ": ", key, ": expected a path"));
  return node.Scalar();
}

absl::StatusOr<std::vector<std::string>> ReadOverrides(const YAML::Node& root, const std::string& path) {
  std::vector<std::string> overrides;
  const YAML::Node node = root["overrides"];
  if (!node.IsDefined() || node.IsNull()) return overrides;
  if (!node.IsSequence()) {
    return BadInput(absl::StrCat(Origin(path, node), ": overrides: expected a list of key=value (or ~key)"));
  }
  for (const auto& item : node) {
    if (!item.IsScalar()) return BadInput(absl::StrCat(Origin(path, item), ": overrides: expected key=value, got a "
                                                       "mapping or list (quote the whole override)"));
    if (item.Scalar().rfind("output_dir=", 0) == 0) {
      return BadInput(absl::StrCat(Origin(path, item), ": overrides: output_dir is the sweep's own key; each run's "
                                   "output_dir is its folder below it"));
    }
    overrides.push_back(item.Scalar());
  }
  return overrides;
}

// FNV-1a: the same hash in every build and process (std::hash promises neither), for stable folder names.
uint64_t Fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Sanitize(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '=' ||
                      c == '+' || c == '-' || c == ',';
    if (!keep) c = '_';
  }
  return out;
}

std::string HashedName(const std::string& sanitized, const std::string& text) {
  return absl::StrFormat("%s-%08x", sanitized.substr(0, kMaxNameLength - 9),
                         static_cast<uint32_t>(Fnv1a(text) ^ (Fnv1a(text) >> 32)));
}

std::string PairsText(const std::vector<std::pair<std::string, std::string>>& values) {
  return absl::StrJoin(values, ",", absl::PairFormatter("="));
}

// A YAML single-quoted scalar: the folder path survives any character the user put in output_dir.
std::string YamlQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

// LoadRecipe names an override's key as "override 'k=v': k: ...": point at the sweep file's line instead.
absl::Status NameSweepSource(const SweepSpec& spec, const SweepRun& run, const absl::Status& status) {
  const std::string message(status.message());
  for (const auto* axes : {&spec.grid, &spec.zip}) {
    for (const SweepAxis& axis : *axes) {
      const std::string origin = absl::StrCat("override '", axis.key, "=");
      if (message.rfind(origin, 0) != 0) continue;
      const size_t end = message.find("': ");
      const std::string rest = end == std::string::npos ? message : message.substr(end + 3);
      const char* section = axes == &spec.grid ? "grid" : "zip";
      return absl::Status(status.code(), absl::StrCat(axis.origin, ": ", section, ": ", axis.key, " (run ", run.name,
                                                      "): ", rest));
    }
  }
  return absl::Status(status.code(), absl::StrCat(spec.path, ": run ", run.name, ": ", message));
}

}  // namespace

absl::StatusOr<SweepSpec> ParseSweep(const std::string& yaml, const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(const YAML::Node root, ParseYaml(yaml, path));
  if (!root.IsMap()) return BadInput(absl::StrCat(path, ": expected a mapping with recipe, grid/zip, output_dir"));
  static const std::set<std::string> kKeys = {"recipe", "overrides", "grid", "zip", "output_dir"};
  for (const auto& kv : root) {
    if (!kKeys.count(kv.first.Scalar())) {
      return BadInput(absl::StrCat(Origin(path, kv.first), ": ", kv.first.Scalar(),
                                   ": unknown key (a sweep file has recipe, overrides, grid, zip, output_dir)"));
    }
  }
  SweepSpec spec;
  spec.path = path;
  ZEN_ASSIGN_OR_RETURN(spec.recipe, ReadString(root, "recipe", path));
  ZEN_ASSIGN_OR_RETURN(spec.output_dir, ReadString(root, "output_dir", path));
  ZEN_ASSIGN_OR_RETURN(spec.overrides, ReadOverrides(root, path));
  ZEN_ASSIGN_OR_RETURN(spec.grid, ReadAxes(root, "grid", path));
  ZEN_ASSIGN_OR_RETURN(spec.zip, ReadAxes(root, "zip", path));
  if (spec.grid.empty() && spec.zip.empty()) {
    return BadInput(absl::StrCat(path, ": nothing to sweep: give grid: and/or zip: with key: [values]"));
  }
  ZEN_RETURN_IF_ERROR(CheckZipLengths(spec.zip));
  ZEN_RETURN_IF_ERROR(CheckSweptKeys(spec));
  return spec;
}

absl::StatusOr<SweepSpec> LoadSweep(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(const std::string text, ReadYamlText(path));
  return ParseSweep(text, path);
}

void AddCommandLineOverrides(SweepSpec& spec, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) {
    if (o.rfind("output_dir=", 0) == 0) {
      spec.output_dir = o.substr(std::string("output_dir=").size());
    } else {
      spec.overrides.push_back(o);
    }
  }
}

std::vector<std::string> SweptKeys(const SweepSpec& spec) {
  std::vector<std::string> keys;
  for (const SweepAxis& axis : spec.grid) keys.push_back(axis.key);
  for (const SweepAxis& axis : spec.zip) keys.push_back(axis.key);
  return keys;
}

std::string RunName(const std::vector<std::pair<std::string, std::string>>& values) {
  const std::string text = PairsText(values);
  const std::string name = Sanitize(text);
  return name.size() <= kMaxNameLength ? name : HashedName(name, text);
}

absl::StatusOr<std::vector<SweepRun>> ExpandSweep(const SweepSpec& spec) {
  const int64_t zip_len = spec.zip.empty() ? 1 : static_cast<int64_t>(spec.zip.front().values.size());
  int64_t grid_points = 1;
  for (const SweepAxis& axis : spec.grid) grid_points *= static_cast<int64_t>(axis.values.size());
  std::vector<SweepRun> runs;
  std::set<std::string> names, texts;
  for (int64_t index = 0; index < grid_points * zip_len; ++index) {
    SweepRun run;
    run.index = index;
    // Mixed-radix digits of index / zip_len, the last grid key fastest, as nested loops in file order.
    std::vector<size_t> digit(spec.grid.size());
    int64_t rest = index / zip_len;
    for (size_t a = spec.grid.size(); a-- > 0;) {
      digit[a] = static_cast<size_t>(rest % static_cast<int64_t>(spec.grid[a].values.size()));
      rest /= static_cast<int64_t>(spec.grid[a].values.size());
    }
    for (size_t a = 0; a < spec.grid.size(); ++a) run.values.emplace_back(spec.grid[a].key, spec.grid[a].values[digit[a]]);
    for (const SweepAxis& axis : spec.zip) run.values.emplace_back(axis.key, axis.values[index % zip_len]);
    const std::string text = PairsText(run.values);
    if (!texts.insert(text).second) {
      return BadInput(absl::StrCat(spec.path, ": two runs have the same values (", text, "): a value is listed twice"));
    }
    run.name = RunName(run.values);
    // Two values that differ only in characters Sanitize replaced ("a/b", "a_b") get the hash to part them.
    if (names.count(run.name)) run.name = HashedName(Sanitize(text), text);
    names.insert(run.name);
    run.dir = absl::StrCat(spec.output_dir, "/", run.name);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::vector<std::string> RunOverrides(const SweepSpec& spec, const SweepRun& run) {
  std::vector<std::string> overrides = spec.overrides;
  for (const auto& [key, value] : run.values) overrides.push_back(absl::StrCat(key, "=", value));
  overrides.push_back(absl::StrCat("output_dir=", YamlQuoted(run.dir)));
  return overrides;
}

absl::StatusOr<std::vector<SweepRun>> PlanSweep(
    const SweepSpec& spec, const std::function<absl::StatusOr<int64_t>(const Recipe&)>& total_steps) {
  ZEN_ASSIGN_OR_RETURN(std::vector<SweepRun> runs, ExpandSweep(spec));
  for (SweepRun& run : runs) {
    absl::StatusOr<LoadedRecipe> loaded = LoadRecipe(spec.recipe, RunOverrides(spec, run));
    if (!loaded.ok()) return NameSweepSource(spec, run, loaded.status());
    const absl::StatusOr<int64_t> steps = total_steps(loaded->recipe);
    if (!steps.ok()) return NameSweepSource(spec, run, steps.status());
    run.total_steps = *steps;
  }
  return runs;
}

}  // namespace zen
