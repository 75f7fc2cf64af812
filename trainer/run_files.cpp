#include "trainer/run_files.h"

#include <filesystem>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/recipe_loader.h"
#include "data/loader/demo_task.h"
#include "trainer/metrics.h"

namespace zen {
namespace fs = std::filesystem;
namespace {

absl::Status KeepMetricsUpTo(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_discarded() && record.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << kept;
  if (!out.flush()) return absl::InternalError(absl::StrCat(path, ": cannot rewrite"));
  return absl::OkStatus();
}

absl::Status WriteDemoHeldOut(const fs::path& path) {
  std::ofstream out(path);
  for (const std::vector<ChatTurn>& turns : DemoHeldOutConversations()) {
    out << nlohmann::ordered_json{{"prompt", turns[0].content}, {"answer", turns[1].content}}.dump() << "\n";
  }
  if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

absl::Status PrepareOutputDir(const Recipe& recipe, int64_t resumed_step) {
  const fs::path dir(recipe.output_dir);
  if (!recipe.train.resume && fs::exists(dir / "config.resolved.yaml")) {
    return BadInput(absl::StrCat("train.resume=false: ", recipe.output_dir,
                                 " already holds a run; choose another output_dir or delete it"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return BadInput(absl::StrCat("output_dir: cannot create ", recipe.output_dir, ": ", ec.message()));
  const fs::path metrics = dir / "metrics.jsonl";
  if (resumed_step > 0 && fs::exists(metrics)) return KeepMetricsUpTo(metrics.string(), resumed_step);
  // A run that starts from step 0 keeps an earlier run's metrics beside its own, renamed, not mixed in.
  if (fs::exists(metrics)) {
    const fs::path kept = dir / absl::StrCat("metrics.", std::time(nullptr), ".jsonl");
    fs::rename(metrics, kept, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot move aside ", metrics.string(), ": ", ec.message()));
    Log0(absl::StrCat("zen train: starting from step 0; the earlier metrics.jsonl is now ", kept.string()));
  }
  return absl::OkStatus();
}

absl::Status WriteRunFiles(const Recipe& recipe, const WorldInfo& world, const std::vector<RankShare>& ranks) {
  const fs::path dir(recipe.output_dir);
  {
    std::ofstream out(dir / "config.resolved.yaml");
    out << ResolvedYaml(recipe);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", (dir / "config.resolved.yaml").string()));
  }
  if (recipe.data.source == "demo") ZEN_RETURN_IF_ERROR(WriteDemoHeldOut(dir / "demo_held_out.jsonl"));
  nlohmann::json run;
  run["world_size"] = world.size;
  run["layout"] = {{"tp", recipe.parallel.tensor}, {"pp", recipe.parallel.pipeline},
                   {"ep", recipe.parallel.expert}, {"cp", recipe.parallel.context},
                   {"dp", world.size / (recipe.parallel.tensor * recipe.parallel.context * recipe.parallel.pipeline)}};
  run["ranks"] = nlohmann::json::array();
  for (const RankShare& r : ranks) {
    run["ranks"].push_back({{"rank", r.rank}, {"tp", r.tp}, {"pp", r.pp}, {"ep", r.ep}, {"dp", r.dp},
                            {"params", r.params}, {"trainable_params", r.trainable_params},
                            {"optimizer_state", r.optimizer_state},
                            {"layers", {r.first_layer, r.end_layer}}});
  }
  return WriteJsonFile((dir / "run.json").string(), run);
}

}  // namespace zen
