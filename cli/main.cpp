// zen: train and fine-tune the Zen model family. `zen help` lists the subcommands.
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "cli/commands.h"

namespace {

const char kUsage[] =
    "usage: zen <command> [arguments]\n"
    "  train RECIPE [key=value | ~key ...]            train (one process, or every rank of mpirun/srun)\n"
    "  validate RECIPE [key=value ...] [--json]       resolve and check a recipe, print derived numbers\n"
    "  eval RECIPE [key=value ...] --input FILE        mean next-token loss per JSON line {\"ids\"} or {\"text\"}\n"
    "                                                 (any layout under mpirun), then perplexity\n"
    "  tokenize --tokenizer PATH|bytes                JSON lines {\"text\"} on stdin -> {\"ids\"} on stdout\n"
    "  data prepare --tokenizer PATH --input FILE... --output DIR [--format text|jsonl|chat]\n"
    "       [--loss-mask all|assistant|last] [--fim-rate R] [--seed S] [--threads N] [--skip-bad]\n"
    "                                                 tokenize text / JSONL / chat JSONL into token shards\n"
    "  export RECIPE [key=value ...] --format hf|peft --out DIR\n"
    "                                                 the latest checkpoint as a Hugging Face folder (LoRA\n"
    "                                                 merged) or a PEFT adapter\n"
    "  generate RECIPE [key=value ...] --prompt TEXT | --input FILE [--chat] [--max-new-tokens N]\n"
    "       [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
    "                                                 continue prompts with the recipe's model (one process)\n"
    "  plan RECIPE [key=value ...] --nodes N --gpus-per-node G --gpu-memory 80GiB [--mfu 0.4]\n"
    "       [--peak-tflops 989] [--fused-attention] [--json]\n"
    "                                                 memory per rank of every layout, which fit, wall time\n"
    "  submit RECIPE [key=value ...] --nodes N --tasks-per-node T [--gpus-per-task G] [--time T]\n"
    "       [--partition P] [--mpi pmix|mpirun] [--requeue] [--dry-run]\n"
    "                                                 render a SLURM job script, sbatch it, print the job id\n"
    "  sweep SWEEP.yaml [key=value ...] [--slurm] [--dry-run]\n"
    "                                                 train every point of a grid/zip sweep, write summary.csv\n"
    "Recipes live in configs/recipes/; see README.md.\n";

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
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::fprintf(stderr, "zen: unknown command \"%s\"\n%s", argv[1], kUsage);
    return 2;
  }
  return it->second(zen::Args(argv + 2, argv + argc));
}
