// `zen data prepare --tokenizer PATH --input FILE... --output DIR [...]`, or `--recipe RECIPE [OVERRIDE...]`
// for the recipe's tokenizer.path, data.path and data.prepare (flags override them) and, for a multimodal
// model, the media shapes its chat records' <image>/<video>/<audio> take: token shards for training.
// Also the flag parser of commands that take no recipe (ParseFlags, declared in cli/commands.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/recipe_loader.h"
#include "data/prepare/prepare.h"

namespace zen {

std::string FlagArgs::Get(const std::string& flag, const std::string& fallback) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? fallback : it->second.front();
}

absl::StatusOr<FlagArgs> ParseFlags(const Args& args, const std::vector<std::string>& switches,
                                    const std::vector<std::string>& single, const std::vector<std::string>& multi) {
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  FlagArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    std::vector<std::string>& values = parsed.values[flag];
    if (contains(switches, flag)) continue;
    const bool is_multi = contains(multi, flag);
    if (!is_multi && !contains(single, flag)) return BadInput(absl::StrCat(flag, ": unknown argument"));
    while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      values.push_back(args[++i]);
      if (!is_multi) break;
    }
    if (values.empty()) return BadInput(absl::StrCat(flag, ": expects a value"));
  }
  return parsed;
}

namespace {

// The options a recipe (with overrides) gives: its tokenizer, data.path as the output, data.prepare for the
// rest, and for a multimodal model the media shapes and placeholder ids its records need.
absl::StatusOr<PrepareOptions> PrepareOptionsFromRecipe(const std::string& path, const std::vector<std::string>& overrides) {
  ZEN_ASSIGN_OR_RETURN(const LoadedRecipe loaded, LoadRecipe(path, overrides));
  const Recipe& r = loaded.recipe;
  PrepareOptions o;
  o.tokenizer = r.tokenizer.path;
  o.output_dir = r.data.path;
  o.inputs = r.data.prepare.inputs;
  o.format = r.data.prepare.format;
  o.loss_mask = r.data.prepare.loss_mask;
  o.fim_rate = r.data.prepare.fim_rate;
  o.seed = r.data.prepare.seed;
  o.seq_len = r.train.seq_len;  // --format repo splits repositories to training's rows
  if (r.model.IsMultimodal()) o.media = MediaShape::FromModel(r.model);
  return o;
}

// `--recipe RECIPE key=value ...`: the overrides that follow the recipe, taken out of the flags.
std::vector<std::string> TakeOverrides(Args& args) {
  std::vector<std::string> overrides;
  auto recipe = std::find(args.begin(), args.end(), "--recipe");
  if (recipe == args.end() || recipe + 1 == args.end()) return overrides;
  auto first = recipe + 2, last = first;
  while (last != args.end() && last->rfind("--", 0) != 0) overrides.push_back(*last++);
  args.erase(first, last);
  return overrides;
}

absl::StatusOr<PrepareOptions> PrepareOptionsFromArgs(Args args) {
  const std::vector<std::string> overrides = TakeOverrides(args);
  ZEN_ASSIGN_OR_RETURN(const FlagArgs flags,
                       ParseFlags(args, {"--skip-bad", "--force"},
                                  {"--recipe", "--tokenizer", "--output", "--format", "--field", "--loss-mask",
                                   "--chat-template", "--fim-rate", "--seed", "--threads", "--shard-tokens", "--seq-len"},
                                  {"--input"}));
  PrepareOptions o;
  if (flags.Has("--recipe")) {
    ZEN_ASSIGN_OR_RETURN(o, PrepareOptionsFromRecipe(flags.Get("--recipe"), overrides));
    if (o.inputs.empty() && !flags.Has("--input")) {
      return BadInput(absl::StrCat(flags.Get("--recipe"), ": data.prepare.inputs: expected the files to prepare "
                                   "(or pass --input FILE...)"));
    }
  } else if (!flags.Has("--tokenizer")) {
    return BadInput("--tokenizer: expected a tokenizer.json path or \"bytes\" (or --recipe RECIPE)");
  }
  o.tokenizer = flags.Get("--tokenizer", o.tokenizer);
  if (flags.Has("--input")) o.inputs = flags.values.at("--input");
  o.output_dir = flags.Get("--output", o.output_dir);
  if (o.output_dir.empty() && flags.Has("--recipe")) {  // a recipe with data.blend names several folders
    return BadInput(absl::StrCat(flags.Get("--recipe"), ": data.path is unset (data.blend reads several folders): "
                                 "pass --output DIR for the folder this data.prepare writes"));
  }
  o.format = flags.Get("--format", o.format);
  o.field = flags.Get("--field", o.field);
  o.loss_mask = flags.Get("--loss-mask", o.loss_mask);
  o.chat_template = flags.Get("--chat-template", o.chat_template);
  o.skip_bad = flags.Has("--skip-bad");
  o.replace_output = flags.Has("--force");
  if (flags.Has("--fim-rate") && !absl::SimpleAtod(flags.Get("--fim-rate"), &o.fim_rate)) {
    return BadInput("--fim-rate: expected a number");
  }
  if (flags.Has("--seed") && !absl::SimpleAtoi(flags.Get("--seed"), &o.seed)) {
    return BadInput("--seed: expected a non-negative integer");
  }
  if (!absl::SimpleAtoi(flags.Get("--threads", "0"), &o.threads) || o.threads < 0) {
    return BadInput("--threads: expected a non-negative integer (0 = every core)");
  }
  if (flags.Has("--seq-len") && !absl::SimpleAtoi(flags.Get("--seq-len"), &o.seq_len)) {
    return BadInput("--seq-len: expected a number of tokens");
  }
  const std::string shard_tokens = flags.Get("--shard-tokens", std::to_string(o.tokens_per_shard));
  if (!absl::SimpleAtoi(shard_tokens, &o.tokens_per_shard) || o.tokens_per_shard <= 0) {
    return BadInput("--shard-tokens: expected a positive integer");
  }
  return o;
}

// A rewritten status line on a terminal; nothing when stderr is a file.
class PrepareProgress {
 public:
  PrepareProgress() : terminal_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}
  void Update(const PrepareReport& r) {
    if (!terminal_) return;
    std::fprintf(stderr, "\rprepare: %.1f MB read, %lld documents, %lld tokens, %.1f MB/s   ", r.input_bytes / 1e6,
                 static_cast<long long>(r.documents), static_cast<long long>(r.tokens), r.input_bytes / 1e6 / Seconds());
    std::fflush(stderr);
  }
  void Finish() {
    if (terminal_) std::fputc('\n', stderr);
  }
  double Seconds() const {
    return std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
};

int Prepare(const Args& args) {
  absl::StatusOr<PrepareOptions> options = PrepareOptionsFromArgs(args);
  if (!options.ok()) return ExitCode(options.status());
  PrepareProgress progress;
  absl::StatusOr<PrepareReport> report = PrepareData(*options, [&](const PrepareReport& r) { progress.Update(r); });
  progress.Finish();
  if (!report.ok()) return ExitCode(report.status());
  nlohmann::json summary = {{"output", options->output_dir}, {"documents", report->documents},
                            {"tokens", report->tokens},       {"loss_tokens", report->loss_tokens},
                            {"skipped_records", report->skipped_records},
                            {"empty_records", report->empty_records},
                            {"shards", report->shards},       {"seconds", progress.Seconds()}};
  if (options->media) {
    summary["images"] = report->images;
    summary["videos"] = report->videos;
    summary["audios"] = report->audios;
  }
  std::printf("%s\n", summary.dump().c_str());
  return 0;
}

}  // namespace

int DataCommand(const Args& args) {
  if (args.empty() || args[0] != "prepare") {
    return ExitCode(BadInput("usage: zen data prepare --tokenizer PATH|bytes --input FILE... --output DIR "
                             "[--format auto|text|jsonl|chat|sharegpt|alpaca] [--field KEY] [--loss-mask all|assistant|last] "
                             "[--chat-template qwen3|plain] [--fim-rate R] "
                             "[--seed S] [--threads N] [--shard-tokens N] [--skip-bad] [--force]; or --recipe RECIPE [OVERRIDE...] for its "
                             "tokenizer.path, data.path and data.prepare (and a Zen-Omni model's media shapes), with "
                             "any of those flags overriding them"));
  }
  return Prepare(Args(args.begin() + 1, args.end()));
}

}  // namespace zen
