// `zen plan RECIPE [key=value ...] --nodes N --gpus-per-node G --gpu-memory 80GiB [--mfu 0.4]
//  [--peak-tflops 989] [--as-is] [--layout tp=T,cp=C,pp=P,ep=E] [--json]`: memory per rank for every layout of
// the cluster (with the cheapest memory options that fit, starting from the recipe's, unless --as-is),
// which fit, and the run's wall time (trainer/plan.h; docs/plan.md).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "core/recipe_loader.h"
#include "data/loader/source.h"
#include "trainer/plan.h"

namespace zen {
namespace {

constexpr size_t kTableRows = 12;
constexpr double kGiB = double(int64_t{1} << 30);

const std::string* Flag(const RecipeArgs& args, const std::string& name) {
  for (const auto& [flag, value] : args.flags) {
    if (flag == name) return &value;
  }
  return nullptr;
}

absl::StatusOr<int64_t> PositiveInt(const RecipeArgs& args, const std::string& name) {
  const std::string* v = Flag(args, name);
  if (v == nullptr) return BadInput(absl::StrCat(name, ": required"));
  int64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n <= 0) {
    return BadInput(absl::StrCat(name, ": expected a positive integer, got \"", *v, "\""));
  }
  return n;
}

// A positive number no larger than `max`, or `fallback` when the flag is absent.
absl::StatusOr<double> PositiveNumber(const RecipeArgs& args, const std::string& name, double fallback,
                                      double max) {
  const std::string* v = Flag(args, name);
  if (v == nullptr) return fallback;
  double x = 0;
  if (!absl::SimpleAtod(*v, &x) || !(x > 0) || !(x <= max)) {
    return BadInput(absl::StrCat(name, ": expected a number in (0, ", max, "], got \"", *v, "\""));
  }
  return x;
}

absl::StatusOr<ClusterSpec> ParseCluster(const RecipeArgs& args) {
  ClusterSpec c;
  ZEN_ASSIGN_OR_RETURN(c.nodes, PositiveInt(args, "--nodes"));
  ZEN_ASSIGN_OR_RETURN(c.gpus_per_node, PositiveInt(args, "--gpus-per-node"));
  const std::string* memory = Flag(args, "--gpu-memory");
  if (memory == nullptr) return BadInput("--gpu-memory: required (for example 80GiB)");
  auto bytes = ParseMemorySize(*memory);
  if (!bytes.ok()) return BadInput(absl::StrCat("--gpu-memory: ", bytes.status().message()));
  c.gpu_memory_bytes = *bytes;
  ZEN_ASSIGN_OR_RETURN(c.mfu, PositiveNumber(args, "--mfu", c.mfu, 1.0));
  ZEN_ASSIGN_OR_RETURN(const double tflops, PositiveNumber(args, "--peak-tflops", c.peak_flops / 1e12, 1e9));
  c.peak_flops = tflops * 1e12;
  return c;
}

// "tp=2,cp=2,pp=1,ep=1" (any order; a missing degree is 1).
absl::StatusOr<Layout> ParseLayout(const std::string& text) {
  Layout l;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    int64_t n = 0;
    int64_t* degree = kv.first == "tp"   ? &l.tp
                      : kv.first == "cp" ? &l.cp
                      : kv.first == "pp" ? &l.pp
                      : kv.first == "ep" ? &l.ep
                                         : nullptr;
    if (degree == nullptr || !absl::SimpleAtoi(kv.second, &n) || n <= 0) {
      return BadInput(absl::StrCat("--layout: expected tp=T,cp=C,pp=P,ep=E with positive degrees, got \"", text, "\""));
    }
    *degree = n;
  }
  return l;
}

// The recipe's memory options (train.param_dtype, train.recompute, ...), searched unless --as-is.
absl::StatusOr<PlanSearch> ParseSearch(const RecipeArgs& args, const Recipe& r) {
  PlanSearch s;
  s.options = RecipeMemoryOptions(r);
  s.search = !args.Has("--as-is");
  if (const std::string* v = Flag(args, "--layout")) {
    ZEN_ASSIGN_OR_RETURN(s.layout, ParseLayout(*v));
  }
  return s;
}

nlohmann::json LayoutJson(const Layout& l) {
  return {{"tp", l.tp}, {"cp", l.cp}, {"pp", l.pp}, {"ep", l.ep}, {"dp", l.dp}};
}

nlohmann::json OptionsJson(const MemoryOptions& o) {
  return {{"param_dtype", o.bf16_params ? "bf16" : "fp32"}, {"recompute", o.recompute},
          {"recompute_layers", o.recompute_layers}, {"sequence_parallel", o.sequence_parallel},
          {"loss_chunk_tokens", o.loss_chunk_tokens}};
}

nlohmann::json ToJson(const Plan& p, const Recipe& r) {
  nlohmann::json layouts = nlohmann::json::array(), rejected = nlohmann::json::array();
  for (const LayoutPlan& l : p.layouts) {
    const RankMemory& m = l.memory;
    nlohmann::json j = LayoutJson(l.layout);
    j.update({{"micro_batches", l.micro_batches}, {"peak_stage", l.peak_stage}, {"stage_layers", l.stage_layers},
              {"in_flight", l.in_flight}, {"fits", l.fits}, {"batch_ok", l.batch_issue.empty()},
              {"bubble", l.bubble}, {"options", OptionsJson(l.options)},
              {"memory_bytes", {{"weights", m.weights}, {"autocast_copies", m.autocast_copies},
                                {"gradients", m.gradients}, {"optimizer", m.optimizer},
                                {"activations", m.activations}, {"logits", m.logits}, {"buffers", m.buffers},
                                {"total", m.Total()}}}});
    if (!l.batch_issue.empty()) j["batch_issue"] = l.batch_issue;
    layouts.push_back(j);
  }
  for (const RejectedLayout& x : p.rejected) {
    nlohmann::json j = LayoutJson(x.layout);
    j["reason"] = x.reason;
    rejected.push_back(j);
  }
  const ClusterSpec& c = p.cluster;
  const LayoutPlan* best = p.Best();
  return {{"recipe", r.path},
          {"model", r.model.name},
          {"cluster", {{"nodes", c.nodes}, {"gpus_per_node", c.gpus_per_node}, {"world", c.World()},
                       {"gpu_memory_bytes", c.gpu_memory_bytes}, {"headroom", c.headroom},
                       {"usable_bytes", c.UsableBytes()}}},
          {"params", {{"total", p.params.total}, {"active", p.params.active}, {"trainable", p.params_trainable}}},
          {"training", {{"tokens_per_step", p.tokens_per_step}, {"total_steps", p.total_steps}, {"tokens", p.tokens},
                        {"flops_per_token", p.flops_per_token}, {"flops_formula", p.flops_formula},
                        {"peak_flops", c.peak_flops}, {"mfu", c.mfu}, {"seconds", p.seconds},
                        {"days", p.seconds / 86400}}},
          {"best", best == nullptr ? nlohmann::json(nullptr) : LayoutJson(best->layout)},
          {"layouts", layouts},
          {"rejected", rejected}};
}

std::string Gib(double bytes) { return absl::StrFormat("%.1f", bytes / kGiB); }

std::string Duration(double seconds) {
  if (seconds <= 0) return "unbounded (no token budget or max_steps)";
  if (seconds < 2 * 3600) return absl::StrFormat("%.0f minutes", seconds / 60);
  if (seconds < 3 * 86400) return absl::StrFormat("%.1f hours", seconds / 3600);
  return absl::StrFormat("%.1f days (%.2f years)", seconds / 86400, seconds / (365.25 * 86400));
}

void PrintTable(const Plan& p) {
  std::printf("%3s %3s %3s %3s %4s | %5s %6s %5s | %8s %7s %6s %6s %7s %6s %6s | %8s  %-4s %s\n", "tp", "cp", "pp", "ep", "dp",
              "stage", "layers", "in-fl", "weights", "bf16cp", "grads", "optim", "activ", "logits", "bufs", "total",
              "fits", "options");
  for (size_t i = 0; i < p.layouts.size() && i < kTableRows; ++i) {
    const LayoutPlan& l = p.layouts[i];
    const RankMemory& m = l.memory;
    const std::string verdict = absl::StrCat(l.fits ? "yes" : "no", l.batch_issue.empty() ? "" : " *");
    std::printf("%3lld %3lld %3lld %3lld %4lld | %5lld %6lld %5lld | %8s %7s %6s %6s %7s %6s %6s | %8s  %-4s %s\n",
                (long long)l.layout.tp, (long long)l.layout.cp, (long long)l.layout.pp, (long long)l.layout.ep, (long long)l.layout.dp,
                (long long)l.peak_stage, (long long)l.stage_layers, (long long)l.in_flight, Gib(m.weights).c_str(),
                Gib(m.autocast_copies).c_str(), Gib(m.gradients).c_str(), Gib(m.optimizer).c_str(),
                Gib(m.activations).c_str(), Gib(m.logits).c_str(), Gib(m.buffers).c_str(), Gib(m.Total()).c_str(),
                verdict.c_str(), l.options.Describe().c_str());
  }
  if (p.layouts.size() > kTableRows) std::printf("... %zu more layouts (--json lists all)\n", p.layouts.size() - kTableRows);
  std::printf("GiB on one rank of the stage that needs most; in-fl: micro-batches whose activations it holds; "
              "bf16cp: autocast's bf16 weight copies (bf16 only); bufs: gradient bucket; options: the memory options the "
              "layout needs to fit (the cheapest first)\n");
}

void PrintNotes(const Plan& p) {
  for (const LayoutPlan& l : p.layouts) {
    if (l.batch_issue.empty()) continue;
    std::printf("* the trainer refuses the recipe's global batch on this layout (memory shown for the smallest it "
                "accepts), e.g. tp=%lld pp=%lld dp=%lld: %s\n",
                (long long)l.layout.tp, (long long)l.layout.pp, (long long)l.layout.dp, l.batch_issue.c_str());
    break;
  }
  if (!p.rejected.empty()) {
    std::printf("%zu layout(s) ruled out by the model's shapes, e.g. %s\n", p.rejected.size(),
                p.rejected.front().reason.c_str());
  }
}

void PrintText(const Plan& p, const Recipe& r) {
  const ClusterSpec& c = p.cluster;
  const std::string tuning = r.lora.enabled ? absl::StrCat("LoRA rank ", r.lora.rank) : "full fine-tuning";
  std::printf("zen plan: %s: %s params (%s active), %s trainable (%s); %s, seq %lld, micro-batch %lld, "
              "global batch %lld, %s%s\n",
              r.path.c_str(), HumanCount(p.params.total).c_str(), HumanCount(p.params.active).c_str(),
              HumanCount(p.params_trainable).c_str(), tuning.c_str(), r.train.dtype.c_str(), (long long)r.train.seq_len,
              (long long)r.train.micro_batch_size, (long long)r.train.global_batch_size, r.parallel.schedule.c_str(),
              r.parallel.zero == 1 ? ", ZeRO-1" : "");
  std::printf("cluster: %lld x %lld GPUs = %lld ranks, %s GiB each, %s GiB usable (%.0f%% headroom)%s; "
              "estimates, not measurements (docs/plan.md)\n\n",
              (long long)c.nodes, (long long)c.gpus_per_node, (long long)c.World(), Gib(c.gpu_memory_bytes).c_str(),
              Gib(c.UsableBytes()).c_str(), 100 * c.headroom, "");
  PrintTable(p);
  PrintNotes(p);
  if (const LayoutPlan* best = p.Best()) {
    std::printf("\nbest: tp=%lld cp=%lld pp=%lld ep=%lld dp=%lld, %s GiB on a rank of stage %lld; memory options: %s\n",
                (long long)best->layout.tp, (long long)best->layout.cp, (long long)best->layout.pp, (long long)best->layout.ep,
                (long long)best->layout.dp, Gib(best->memory.Total()).c_str(), (long long)best->peak_stage,
                best->options.Describe().c_str());
  } else if (!p.layouts.empty() && p.layouts.front().fits) {
    const Layout& l = p.layouts.front().layout;
    std::printf("\nbest: none with the recipe's global batch; with one it can split (*): tp=%lld pp=%lld ep=%lld "
                "dp=%lld\n", (long long)l.tp, (long long)l.pp, (long long)l.ep, (long long)l.dp);
  } else {
    std::printf("\nbest: no layout fits %s GiB\n", Gib(c.UsableBytes()).c_str());
  }
  std::printf("time: %lld steps x %lld tokens = %s tokens; %s = %.3g FLOP/token;\n"
              "      at %.0f TFLOP/s x %.2f MFU x %lld GPUs: %s\n",
              (long long)p.total_steps, (long long)p.tokens_per_step, HumanCount(p.tokens).c_str(),
              p.flops_formula.c_str(), p.flops_per_token, c.peak_flops / 1e12, c.mfu, (long long)c.World(),
              Duration(p.seconds).c_str());
}

}  // namespace

int PlanCommand(const Args& args) {
  auto parsed = ParseRecipeArgs(args, {"--json", "--as-is"},
                                {"--nodes", "--gpus-per-node", "--gpu-memory", "--mfu", "--peak-tflops", "--layout"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  auto cluster = ParseCluster(*parsed);
  if (!cluster.ok()) return ExitCode(cluster.status());
  auto loaded = LoadRecipe(parsed->recipe, parsed->overrides);
  if (!loaded.ok()) return ExitCode(loaded.status());
  const Recipe& recipe = loaded->recipe;
  auto search = ParseSearch(*parsed, recipe);
  if (!search.ok()) return ExitCode(search.status());
  const Plan plan = MakePlan(recipe, *cluster, TokensPerEpochOf(recipe), *search);
  if (parsed->Has("--json")) {
    std::printf("%s\n", ToJson(plan, recipe).dump(2).c_str());
  } else {
    PrintText(plan, recipe);
  }
  return 0;
}

}  // namespace zen
