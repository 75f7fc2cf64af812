// `zen eval RECIPE [OVERRIDE...] --input FILE`: the recipe's model (model.checkpoint, then the latest
// checkpoint in output_dir) scores each JSON line {"ids": [...]} or {"text": "..."}; rank 0 prints one
// line {"loss", "tokens"} per input line and a summary {"mean_loss", "perplexity"} (token-weighted).
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"
#include "data/tokenizer/tokenizer.h"
#include "parallel/communicator.h"
#include "parallel/world.h"
#include "trainer/evaluate.h"

namespace zen {
namespace {

// One sequence per line; every problem is BadInput naming file:line.
absl::StatusOr<std::vector<std::vector<int64_t>>> ReadSequences(const std::string& path, const Recipe& r) {
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat("--input: cannot read ", path));
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::vector<int64_t>> sequences;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const std::string where = absl::StrCat(path, ":", number);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) return BadInput(absl::StrCat(where, ": not a JSON object"));
    std::vector<int64_t> ids;
    if (record.contains("ids") && record["ids"].is_array()) {
      for (const auto& id : record["ids"]) {
        if (!id.is_number_integer()) return BadInput(absl::StrCat(where, ": \"ids\" must hold integers"));
        ids.push_back(id.get<int64_t>());
      }
    } else if (record.contains("text") && record["text"].is_string()) {
      if (!tokenizer) {
        ZEN_ASSIGN_OR_RETURN(tokenizer, OpenTokenizer(r.tokenizer.path));
      }
      for (int32_t id : tokenizer->Encode(record["text"].get<std::string>())) ids.push_back(id);
    } else {
      return BadInput(absl::StrCat(where, ": expected {\"ids\": [...]} or {\"text\": \"...\"}"));
    }
    if (ids.size() < 2) return BadInput(absl::StrCat(where, ": a sequence needs at least 2 tokens to score"));
    for (int64_t id : ids) {
      if (id < 0 || id >= r.model.vocab) {
        return BadInput(absl::StrCat(where, ": token id ", id, " is outside the model's vocabulary (", r.model.vocab, ")"));
      }
    }
    if (r.model.max_position > 0 && static_cast<int64_t>(ids.size()) > r.model.max_position) {
      return BadInput(absl::StrCat(where, ": ", ids.size(), " tokens, longer than model.max_position (",
                                   r.model.max_position, ")"));
    }
    sequences.push_back(std::move(ids));
  }
  if (sequences.empty()) return BadInput(absl::StrCat(path, ": no sequences to score"));
  return sequences;
}

}  // namespace

int EvalCommand(const Args& args) {
  const WorldInfo world = WorldFromEnvironment();
  SetLogRank(static_cast<int>(world.rank));
  auto parsed = ParseRecipeArgs(args, {}, {"--input"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  std::string input;
  for (const auto& [flag, value] : parsed->flags) {
    if (flag == "--input") input = value;
  }
  if (input.empty()) return ExitCode(BadInput("zen eval: --input FILE is required"));
  auto loaded = LoadRecipe(parsed->recipe, parsed->overrides);
  if (!loaded.ok()) return ExitCode(loaded.status());
  auto sequences = ReadSequences(input, loaded->recipe);
  if (!sequences.ok()) return ExitCode(sequences.status());

  auto scores = EvaluateSequences(loaded->recipe, *sequences);
  if (!scores.ok()) {
    LogError(absl::StrCat("zen: ", scores.status().message()));
    const int code = IsBadInput(scores.status()) ? 2 : 1;
    if (world.size > 1) AbortJob(code);
    return code;
  }
  if (world.rank == 0) {
    double loss_sum = 0;
    int64_t tokens = 0;
    for (const Score& s : *scores) {
      std::printf("%s\n", nlohmann::json({{"loss", s.MeanLoss()}, {"tokens", s.tokens}}).dump().c_str());
      loss_sum += s.loss_sum, tokens += s.tokens;
    }
    const double mean = loss_sum / static_cast<double>(std::max<int64_t>(tokens, 1));
    std::printf("%s\n", nlohmann::json({{"mean_loss", mean}, {"perplexity", std::exp(mean)}}).dump().c_str());
    std::fflush(stdout);
  }
  FinalizeMpi();
  return 0;
}

}  // namespace zen
