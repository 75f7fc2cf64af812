#include "checkpoints/checkpoint.h"     // defines: CheckpointReader
#include "checkpoints/hf_export.h"      // defines: ExportCheckpoint
#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"
#include "data/common/output_folder.h"  // defines: StagedFolder
#include "trainer/checkpointing.h"      // defines: CheckpointToResume, CheckSameModel

namespace zen {
namespace {

absl::Status Export(const RecipeArgs& args) {
  std::string format_name, out;
  for (const auto& [flag, value] : args.flags) {
    if (flag != "--force") (flag == "--format" ? format_name : out) = value;
  }
  if (format_name.empty()) return BadInput("--format: expected hf or peft (zen export RECIPE --format hf --out DIR)");
  if (format_name != "hf" && format_name != "peft") {
    return BadInput(absl::StrCat("--format: expected hf or peft, got \"", format_name, "\""));
  }
  if (out.empty()) return BadInput("--out: expected the folder to write the export into");
  const ExportFormat format = format_name == "hf" ? ExportFormat::kHf : ExportFormat::kPeft;
  ZEN_ASSIGN_OR_RETURN(const LoadedRecipe loaded, LoadRecipe(args.recipe, args.overrides));
  const Recipe& recipe = loaded.recipe;
  if (format == ExportFormat::kPeft && !recipe.lora.enabled) {
    return BadInput("--format peft: the recipe trains without LoRA (no lora section); export with --format hf");
  }
  absl::StatusOr<std::string> latest = CheckpointToResume(recipe);
  if (absl::IsNotFound(latest.status())) {
    return BadInput(absl::StrCat("output_dir: ", recipe.output_dir,
                                 " holds no complete checkpoint to export; train first (zen train ", args.recipe,
                                 " ...)"));
  }
  ZEN_RETURN_IF_ERROR(latest.status());
  ZEN_ASSIGN_OR_RETURN(CheckpointReader reader, CheckpointReader::Open(*latest));
  ZEN_RETURN_IF_ERROR(CheckSameModel(reader, recipe, "export with the recipe and overrides that trained it"));
  // Nothing is written into --out until the whole export is: a failure leaves it as it was.
  ZEN_ASSIGN_OR_RETURN(StagedFolder staged, StagedFolder::Begin(out, "--out", args.Has("--force")));
  ZEN_RETURN_IF_ERROR(ExportCheckpoint(recipe, reader, format, staged.path(), out));
  ZEN_RETURN_IF_ERROR(staged.Commit());
  Log0(absl::StrCat("zen export: ", format_name, " of ", reader.dir(), " (step ", reader.manifest().step,
                    ") written to ", out));
  return absl::OkStatus();
}

}  // namespace

int ExportCommand(const Args& args) {
  auto parsed = ParseRecipeArgs(args, {"--force"}, {"--format", "--out"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  return ExitCode(Export(*parsed));
}

}  // namespace zen
