// zen: train and fine-tune the Zen model family. `zen --help` lists the subcommands, `zen <command> --help`
// explains one (cli/usage.cpp), `zen --version` names the build (cli/version.cpp).
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/usage.h"

namespace {

bool IsHelpFlag(const std::string& arg) { return arg == "--help" || arg == "-h"; }

// `zen help [COMMAND]`, `zen --help`: exit 0 (stdout); an unknown COMMAND is exit 2.
int Help(const std::string& command) {
  if (command.empty()) {
    std::fputs(zen::UsageOverview().c_str(), stdout);
    return 0;
  }
  const std::optional<std::string> help = zen::CommandHelp(command);
  if (!help) {
    std::fprintf(stderr, "zen: unknown command \"%s\"\n%s", command.c_str(), zen::UsageOverview().c_str());
    return 2;
  }
  std::fputs(help->c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::map<std::string, std::function<int(const zen::Args&)>> commands = {
      {"train", zen::TrainCommand},
      {"validate", zen::ValidateCommand},
      {"eval", zen::EvalCommand},
      {"tokenize", zen::TokenizeCommand},
      {"data", zen::DataCommand},
      {"generate", zen::GenerateCommand},
      {"export", zen::ExportCommand},
      {"submit", zen::SubmitCommand},
      {"plan", zen::PlanCommand},
      {"sweep", zen::SweepCommand},
  };
  if (argc < 2) {
    std::fputs(zen::UsageOverview().c_str(), stderr);
    return 2;
  }
  const std::string first = argv[1];
  const zen::Args rest(argv + 2, argv + argc);
  if (first == "help" || IsHelpFlag(first)) return Help(rest.empty() ? "" : rest.front());
  if (first == "--version" || first == "version") {
    std::fputs(zen::VersionText().c_str(), stdout);
    return 0;
  }
  auto it = commands.find(first);
  if (it == commands.end()) {
    std::fprintf(stderr, "zen: unknown command \"%s\"\n%s", first.c_str(), zen::UsageOverview().c_str());
    return 2;
  }
  // --help anywhere after the command asks for its help, whatever else the line holds.
  for (const std::string& arg : rest) {
    if (IsHelpFlag(arg)) return Help(first);
  }
  return it->second(rest);
}
