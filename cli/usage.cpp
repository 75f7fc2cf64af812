// What `zen --help` and `zen <command> --help` print: one entry per command, the list is made from them.
#include "cli/usage.h"

#include <vector>

namespace zen {
namespace {

struct CommandUsage {
  const char* name;
  const char* synopsis;  // the command line, flags in [] when optional
  const char* summary;   // one line for `zen --help`
  const char* flags;     // one flag per line, as printed
  const char* example;
};

// Recipe-taking commands share how a recipe and its overrides are given.
constexpr char kRecipeArgs[] =
    "  RECIPE            a recipe file (configs/recipes/*.yaml)\n"
    "  key=value         override a recipe key (the value is YAML: train.max_steps=30, lora.targets=[q,v])\n"
    "  ~key              delete a key (~lora: full fine-tuning)\n";

const std::vector<CommandUsage>& Commands() {
  static const std::vector<CommandUsage> commands = {
      {"train", "zen train RECIPE [key=value | ~key ...]",
       "train (one process, or every rank of mpirun/srun)",
       "  Resumes from the newest complete checkpoint in output_dir (train.resume=false starts over).\n"
       "  SIGTERM/SIGUSR1: finish the step, save a checkpoint, exit 75.\n",
       "zen train configs/recipes/zen-nano-lora.yaml data.source=demo train.max_steps=30 output_dir=/tmp/x"},
      {"validate", "zen validate RECIPE [key=value ...] [--json]",
       "resolve and check a recipe, print derived numbers",
       "  --json            the resolved recipe, derived and reference numbers as JSON\n"
       "  Checks the layout's shapes (heads, vocab, widths by parallel.tensor; layers by parallel.pipeline;\n"
       "  experts by parallel.expert) and warns about settings that are probably mistakes.\n",
       "zen validate configs/recipes/zen-nano-lora.yaml parallel.tensor=2"},
      {"eval", "zen eval RECIPE [key=value ...] --input FILE",
       "mean next-token loss per JSON line {\"ids\"} or {\"text\"}, then perplexity",
       "  --input FILE      JSON lines {\"ids\": [...]} or {\"text\": \"...\"}; one {\"loss\", \"tokens\"} line each\n"
       "  Scores the latest checkpoint in output_dir (or model.checkpoint); any layout under mpirun.\n",
       "zen eval configs/recipes/zen-nano-lora.yaml output_dir=/tmp/x --input held_out.jsonl"},
      {"tokenize", "zen tokenize --tokenizer PATH|bytes [--input FILE] [--chat [--loss-mask M] [--chat-template T]]",
       "JSON lines {\"text\"} (stdin or FILE) -> {\"ids\"} on stdout; --chat: chat records -> {\"ids\", \"loss_mask\"}",
       "  --tokenizer PATH  a tokenizer.json, or \"bytes\" for the built-in byte tokenizer\n"
       "  --input FILE      read FILE instead of stdin\n"
       "  --chat            records {\"messages\", \"tools\"} in Qwen3's chat template, as zen data prepare renders them\n"
       "  --loss-mask M     --chat: all, assistant (default) or last\n"
       "  --chat-template T --chat: qwen3 (default: exactly transformers' apply_chat_template) or plain\n",
       "echo '{\"text\": \"hello\"}' | zen tokenize --tokenizer data/qwen3-tokenizer/tokenizer.json"},
      {"data", "zen data prepare (--tokenizer PATH|bytes --input FILE... --output DIR | --recipe RECIPE [key=value ...])\n"
               "         [--format auto|text|jsonl|chat|sharegpt|alpaca|repo|parquet] [--field KEY] [--loss-mask all|assistant|last]\n"
               "         [--chat-template qwen3|plain] [--fim-rate R] [--seed S]\n"
               "         [--seq-len N] [--threads N] [--shard-tokens N] [--skip-bad] [--force]",
       "tokenize text / JSONL / chat JSONL into token shards",
       "  --recipe RECIPE   take tokenizer.path, data.path and data.prepare from a recipe (flags override them)\n"
       "  --tokenizer PATH  a tokenizer.json, or \"bytes\"\n"
       "  --output DIR      where the shards and manifest.json go\n"
       "  --input FILE...   .jsonl/.json (lines or one array; also .gz/.zst compressed), .parquet, else one text each\n"
       "  --format F        auto (by the first record), text, jsonl ({\"text\"}), chat ({\"messages\"}),\n"
       "                    sharegpt ({\"conversations\"}), alpaca ({\"instruction\", \"output\"}), repo (a folder, or\n"
       "                    {\"repo\", \"path\", \"content\"} rows: whole repositories), parquet (read as Parquet)\n"
       "  --field KEY       the key (Parquet: column) of the text (jsonl) or the messages (chat)\n"
       "  --loss-mask M     chat: train on all tokens, the assistant turns, or the last assistant turn\n"
       "  --chat-template T qwen3 (default, exactly as transformers' apply_chat_template) or plain\n"
       "  --fim-rate R      fill-in-the-middle rate per text/jsonl document or repository file (0..1)\n"
       "  --seed S          FIM's choices\n"
       "  --seq-len N       repo: split repositories at file boundaries to N tokens (--recipe: train.seq_len)\n"
       "  --threads N       tokenizer threads (0 = every core)\n"
       "  --shard-tokens N  tokens per shard file\n"
       "  --skip-bad        skip (and count) bad lines instead of stopping at the first\n"
       "  --force           write into an --output folder that is not empty\n",
       "zen data prepare --recipe configs/recipes/zen-nano-lora.yaml"},
      {"export", "zen export RECIPE [key=value ...] --format hf|peft --out DIR [--force]",
       "the latest checkpoint as a Hugging Face folder (LoRA merged) or a PEFT adapter",
       "  --format hf       config.json + model.safetensors (LoRA merged into the weights)\n"
       "  --format peft     adapter_config.json + adapter_model.safetensors (LoRA recipes only)\n"
       "  --out DIR         the folder to write\n"
       "  --force           write into an --out folder that is not empty\n"
       "  Give the recipe and overrides that trained the run (its output_dir holds the checkpoint).\n",
       "zen export configs/recipes/zen-nano-lora.yaml output_dir=/tmp/x --format peft --out /tmp/x-peft"},
      {"generate", "zen generate RECIPE [key=value ...] (--prompt TEXT | --input FILE) [--chat] [--max-new-tokens N]\n"
                   "         [--temperature T] [--top-k K] [--top-p P] [--seed S]",
       "continue prompts with the recipe's model (one process)",
       "  --prompt TEXT        one prompt, streamed to the terminal\n"
       "  --input FILE         JSON lines {\"prompt\"} or {\"messages\"}; one {\"prompt\", \"completion\", \"ids\"} line each\n"
       "  --chat               apply Qwen3's chat template to --prompt\n"
       "  --max-new-tokens N   stop after N tokens (128)\n"
       "  --temperature T      0 = greedy (the default)\n"
       "  --top-k K, --top-p P sampling filters\n"
       "  --seed S             the sampler's seed\n",
       "zen generate configs/recipes/zen-nano-lora.yaml output_dir=/tmp/x --prompt \"What is 2+3?\" --chat"},
      {"plan", "zen plan RECIPE [key=value ...] --nodes N --gpus-per-node G --gpu-memory SIZE [--mfu F]\n"
               "         [--peak-tflops T] [--as-is] [--layout tp=T,pp=P,ep=E] [--json]",
       "memory per rank of every layout, which fit, wall time",
       "  --nodes N, --gpus-per-node G   the cluster\n"
       "  --gpu-memory SIZE              memory of one GPU (80GiB)\n"
       "  --mfu F                        model FLOPs utilisation for the wall time (0.4)\n"
       "  --peak-tflops T                one GPU's peak (989, H100 bf16 dense)\n"
       "  --as-is                        the recipe's memory options as given (train.param_dtype, train.recompute,\n"
       "                                 parallel.sequence, train.loss_chunk_tokens); without it each layout\n"
       "                                 gets the cheapest that fits\n"
       "  --layout tp=T,pp=P,ep=E        only this layout\n"
       "  --json                         machine-readable\n",
       "zen plan configs/recipes/zen-eco-lora.yaml --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB"},
      {"submit", "zen submit RECIPE [key=value ...] --nodes N --tasks-per-node T [--gpus-per-task G]\n"
                 "         [--cpus-per-task C] [--time T] [--partition P] [--job-name NAME] [--mpi pmix|mpirun]\n"
                 "         [--signal-grace S] [--zen PATH] [--requeue] [--dry-run]",
       "render a SLURM job script, sbatch it, print the job id",
       "  --nodes N, --tasks-per-node T   ranks = N x T (the recipe's layout is checked against them)\n"
       "  --gpus-per-task G, --cpus-per-task C\n"
       "  --time T                        SLURM time limit (1-00:00:00)\n"
       "  --partition P, --job-name NAME  (the job name defaults to the recipe's file name)\n"
       "  --mpi pmix|mpirun               srun --mpi=pmix (default) or mpirun inside the allocation\n"
       "  --signal-grace S                seconds before the time limit that SIGUSR1 asks for a checkpoint\n"
       "  --zen PATH                      the zen the job runs (default: this one)\n"
       "  --requeue                       a preempted job requeues itself and resumes\n"
       "  --dry-run                       print the job script instead of submitting it\n",
       "zen submit configs/recipes/zen-nano-lora.yaml --nodes 2 --tasks-per-node 8 --gpus-per-task 1 --dry-run"},
      {"sweep", "zen sweep SWEEP.yaml [key=value ...] [--dry-run] [--slurm [--sbatch OPTION]...] [--summary-only]\n"
                "         [--run-index I]",
       "train every point of a grid/zip sweep, write summary.csv",
       "  SWEEP.yaml        recipe, overrides, grid and/or zip, output_dir (configs/sweeps/)\n"
       "  key=value         added to every run's overrides\n"
       "  --dry-run         list the runs\n"
       "  --slurm           submit a job array (one task per run) and a summary job\n"
       "  --sbatch OPTION   an extra #SBATCH option for --slurm (repeatable)\n"
       "  --summary-only    only write summary.csv and summary.md from the runs' folders\n"
       "  --run-index I     train only run I (what each array task does)\n",
       "zen sweep configs/sweeps/zen-nano-lora-rank-lr.yaml --dry-run"},
  };
  return commands;
}

const CommandUsage* Find(const std::string& name) {
  for (const CommandUsage& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

bool TakesRecipe(const CommandUsage& c) { return std::string(c.synopsis).find(" RECIPE ") != std::string::npos; }

}  // namespace

std::string UsageOverview() {
  std::string text = "usage: zen <command> [arguments]      zen <command> --help: its flags and an example\n";
  for (const CommandUsage& c : Commands()) absl::StrAppend(&text, "  ", c.name, std::string(10 - std::string(c.name).size(), ' '), c.summary, "\n");
  absl::StrAppend(&text,
                  "  --version  zen, its git commit, torch, CUDA, NCCL and MPI\n"
                  "Recipes live in configs/recipes/; see README.md.\n");
  return text;
}

std::optional<std::string> CommandHelp(const std::string& command) {
  const CommandUsage* c = Find(command);
  if (c == nullptr) return std::nullopt;
  std::string text = absl::StrCat("usage: ", c->synopsis, "\n", c->summary, "\n\n");
  if (TakesRecipe(*c)) absl::StrAppend(&text, kRecipeArgs);
  absl::StrAppend(&text, c->flags, "\nexample:\n  ", c->example, "\n");
  return text;
}

}  // namespace zen
