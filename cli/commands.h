// The `zen` subcommands. Each parses its arguments, calls the libraries and returns an exit code:
// 0 success, 2 bad input (one message on stderr naming what is wrong), 1 runtime failure.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace zen {

using Args = std::vector<std::string>;

int TrainCommand(const Args& args);
int ValidateCommand(const Args& args);

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

// Prints the status (if not OK) and returns the exit code it maps to.
int ExitCode(const absl::Status& status);

}  // namespace zen
