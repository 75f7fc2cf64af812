#include <cstdio>

#include "cli/commands.h"
#include "core/derived.h"
#include "core/recipe_loader.h"
#include "core/recipe_schema.h"
#include "data/loader/source.h"
#include "parallel/grid.h"           // defines: CheckLayoutShapes
#include "trainer/derived_report.h"

namespace zen {
namespace {

// YAML -> JSON for the --json output (scalars typed the way the schema reads them back).
nlohmann::json ToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : node) j[kv.first.Scalar()] = ToJson(kv.second);
    return j;
  }
  if (node.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& item : node) j.push_back(ToJson(item));
    return j;
  }
  if (node.IsNull()) return nullptr;
  const std::string& s = node.Scalar();
  int64_t i;
  double d;
  bool b;
  if (node.Tag() != "!" && YAML::convert<int64_t>::decode(node, i)) return i;
  if (node.Tag() != "!" && YAML::convert<double>::decode(node, d)) return d;
  if (node.Tag() != "!" && YAML::convert<bool>::decode(node, b)) return b;
  return s;
}

}  // namespace

int ValidateCommand(const Args& args) {
  auto parsed = ParseRecipeArgs(args, {"--json"}, {});
  if (!parsed.ok()) return ExitCode(parsed.status());
  auto loaded = LoadRecipe(parsed->recipe, parsed->overrides);
  if (!loaded.ok()) return ExitCode(loaded.status());
  const Recipe& recipe = loaded->recipe;
  // What `zen train` would refuse on any number of ranks is refused here too.
  if (const absl::Status shapes = CheckLayoutShapes(recipe); !shapes.ok()) {
    return ExitCode(Annotate(shapes, parsed->recipe));
  }
  PrintRecipeWarnings(*loaded);
  nlohmann::json derived = DerivedNumbers(recipe);
  // A finite dataset (the demo task, prepared shards) also ends the run after train.epochs passes.
  if (const std::optional<double> tokens = TokensPerEpochOf(recipe)) {
    derived["tokens_per_epoch"] = *tokens;
    derived["total_steps"] = TotalSteps(recipe.train, tokens);
  }
  const nlohmann::json reference = ReferenceNumbers(recipe);
  if (parsed->Has("--json")) {
    nlohmann::json out = {{"config", ToJson(RecipeToYaml(recipe))}, {"derived", derived}, {"reference", reference}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s\n%s: ok\n\n%s", ResolvedYaml(recipe).c_str(), parsed->recipe.c_str(),
              ComparisonTable(derived, reference).c_str());
  return 0;
}

}  // namespace zen
