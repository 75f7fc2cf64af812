// Help and version texts of the `zen` executable (cli/main.cpp prints them).
#pragma once

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace zen {

// `zen --help`: every command with its one-line summary. cli/usage.cpp
std::string UsageOverview();

// `zen <command> --help`: its command line, arguments, flags and an example; nullopt for an unknown command.
std::optional<std::string> CommandHelp(const std::string& command);

// `zen --version`: zen's version and git commit, and the versions of torch, CUDA, NCCL and MPI it runs
// with. cli/version.cpp
std::string VersionText();

}  // namespace zen
