#include "core/recipe_warnings.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace zen {
namespace fs = std::filesystem;
namespace {

std::string WarningAbout(const ConfigTree& tree, const std::string& key, const std::string& message) {
  return absl::StrCat(tree.OriginOf(key), ": ", key, ": ", message);
}

// A warmup as long as the run keeps the learning rate below optim.lr for every step, and skips the decay.
void CheckWarmup(const Recipe& r, const ConfigTree& tree, int64_t total_steps, std::vector<std::string>& out) {
  if (total_steps <= 0 || r.optim.warmup_steps < total_steps) return;
  out.push_back(WarningAbout(tree, "optim.warmup_steps",
                             absl::StrCat(r.optim.warmup_steps, " warmup steps but the run has only ", total_steps,
                                          ": the learning rate never reaches optim.lr (", r.optim.lr,
                                          ") and never decays; lower optim.warmup_steps")));
}

void CheckLr(const Recipe& r, const ConfigTree& tree, std::vector<std::string>& out) {
  const LrRange far = UnusualLrBounds(r.lora.enabled);
  if (r.optim.lr >= far.low && r.optim.lr <= far.high) return;
  out.push_back(WarningAbout(tree, "optim.lr",
                             absl::StrCat(r.optim.lr, " is far outside the usual range for ",
                                          r.lora.enabled ? "LoRA" : "full-parameter training", " (warned below ",
                                          far.low, " or above ", far.high, "); check its exponent")));
}

// zen's name of a Hugging Face dtype ("bfloat16" -> "bf16"), or the HF name when zen has none.
std::string ZenDtypeName(const std::string& hf) {
  if (hf == "float32") return "fp32";
  if (hf == "bfloat16") return "bf16";
  return hf;
}

// An HF checkpoint stored in one precision trained in another: the weights are converted on load.
void CheckCheckpointDtype(const Recipe& r, const ConfigTree& tree, std::vector<std::string>& out) {
  if (r.model.checkpoint.empty()) return;
  const fs::path config = fs::path(r.model.checkpoint) / "config.json";
  std::ifstream in(config);
  if (!in) return;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return;
  // transformers 5 writes "dtype"; earlier versions "torch_dtype".
  const char* key = j.contains("dtype") ? "dtype" : "torch_dtype";
  if (!j.contains(key) || !j[key].is_string()) return;
  const std::string stored = ZenDtypeName(j[key].get<std::string>());
  // bf16 parameter storage keeps a bf16 checkpoint's weights as they are (and implies bf16 compute).
  if (stored == r.train.dtype || (stored == "bf16" && r.train.param_dtype == "bf16")) return;
  out.push_back(WarningAbout(tree, "train.dtype",
                             absl::StrCat(r.train.dtype, " but model.checkpoint's ", config.string(), " stores ",
                                          j[key].get<std::string>(), " weights: they are converted on load (set ",
                                          "train.dtype to match the checkpoint if that was meant)")));
}

}  // namespace

LrRange UnusualLrBounds(bool lora) { return lora ? LrRange{1e-7, 1e-2} : LrRange{1e-8, 1e-2}; }

std::vector<std::string> RecipeWarnings(const Recipe& recipe, const ConfigTree& tree, int64_t total_steps) {
  std::vector<std::string> warnings;
  CheckWarmup(recipe, tree, total_steps, warnings);
  CheckLr(recipe, tree, warnings);
  CheckCheckpointDtype(recipe, tree, warnings);
  return warnings;
}

}  // namespace zen
