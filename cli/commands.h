// The `zen` subcommands. Each parses its arguments, calls the libraries and returns an exit code:
// 0 success, 2 bad input (one message on stderr naming what is wrong), 1 runtime failure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace zen {

using Args = std::vector<std::string>;

int TrainCommand(const Args& args);
int ValidateCommand(const Args& args);
int EvalCommand(const Args& args);      // cli/eval_command.cpp: `zen eval RECIPE --input FILE`
int TokenizeCommand(const Args& args);  // cli/tokenize_command.cpp
int DataCommand(const Args& args);      // cli/data_command.cpp: `zen data prepare ...`
int GenerateCommand(const Args& args);  // cli/generate_command.cpp: `zen generate RECIPE --prompt TEXT | --input FILE`
int ExportCommand(const Args& args);    // cli/export_command.cpp: `zen export RECIPE --format hf|peft --out DIR`
int SubmitCommand(const Args& args);    // cli/submit_command.cpp: `zen submit RECIPE --nodes N --tasks-per-node T ...`
int PlanCommand(const Args& args);      // cli/plan_command.cpp: `zen plan RECIPE --nodes N --gpus-per-node G --gpu-memory 80GiB`
int SweepCommand(const Args& args);     // cli/sweep_command.cpp: `zen sweep SWEEP.yaml [--slurm] [--dry-run]`

// Splits `RECIPE [OVERRIDE...] [--flag [value]...]`: the first positional is the recipe, the rest are
// overrides. `flags_with_value` names the flags that take a value; any other --flag is boolean.
struct RecipeArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  std::vector<std::pair<std::string, std::string>> flags;
  bool Has(const std::string& flag) const;
};
absl::StatusOr<RecipeArgs> ParseRecipeArgs(const Args& args, const std::vector<std::string>& boolean_flags,
                                           const std::vector<std::string>& flags_with_value);

// Flags of a command that takes no recipe: `--switch`, `--name value`, and for `multi` flags
// `--name v1 v2 ...` (the values up to the next --flag). Defined in cli/data_command.cpp.
struct FlagArgs {
  std::map<std::string, std::vector<std::string>> values;
  bool Has(const std::string& flag) const { return values.count(flag) > 0; }
  std::string Get(const std::string& flag, const std::string& fallback = "") const;
};
absl::StatusOr<FlagArgs> ParseFlags(const Args& args, const std::vector<std::string>& switches,
                                    const std::vector<std::string>& single, const std::vector<std::string>& multi);

// Prints the status (if not OK) and returns the exit code it maps to.
int ExitCode(const absl::Status& status);

// Prints core/recipe_warnings.h's warnings about a loaded recipe ("zen: warning: ..."), on rank 0, once.
struct LoadedRecipe;
void PrintRecipeWarnings(const LoadedRecipe& loaded);

}  // namespace zen
