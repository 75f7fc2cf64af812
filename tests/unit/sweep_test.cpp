// Sweeps: expansion order and count (grid x zip), run names, the sweep file's errors, when a run counts
// as complete, and the summary's CSV.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <unistd.h>

#include "checkpoints/checkpoint.h"  // defines: RemoveTree
#include "launch/sweep.h"
#include "launch/sweep_slurm.h"
#include "launch/sweep_summary.h"

namespace zen {
namespace {

namespace fs = std::filesystem;

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

SweepSpec Parse(const std::string& yaml) {
  auto spec = ParseSweep(yaml, "s.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : SweepSpec{};
}

std::string ErrorOf(const std::string& yaml) {
  auto spec = ParseSweep(yaml, "s.yaml");
  if (!spec.ok()) return std::string(spec.status().message());
  auto runs = ExpandSweep(*spec);
  return runs.ok() ? "" : std::string(runs.status().message());
}

std::vector<std::string> Values(const SweepRun& run) {
  std::vector<std::string> out;
  for (const auto& kv : run.values) out.push_back(kv.first + "=" + kv.second);
  return out;
}

// A run folder under a per-test temporary directory, removed afterwards.
class SweepRunDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("zen_sweep_test_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_ + "/checkpoints");
  }
  void TearDown() override { RemoveTree(dir_); }
  void Metrics(const std::string& lines) { std::ofstream(dir_ + "/metrics.jsonl") << lines; }
  void Checkpoint(int step) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%08d", step);
    fs::create_directories(dir_ + "/checkpoints/" + name);
    std::ofstream(dir_ + "/checkpoints/" + name + "/manifest.pb") << "x";
    std::ofstream(dir_ + "/checkpoints/latest") << name;
  }
  std::string dir_;
};

std::string StepLines(int first, int last, double loss0) {
  std::string lines;
  for (int s = first; s <= last; ++s) {
    lines += "{\"step\": " + std::to_string(s) + ", \"loss\": " + std::to_string(loss0 - 0.1 * s) +
             ", \"tokens_per_s\": " + std::to_string(s == 1 ? 10 : 100 * s) + "}\n";
  }
  return lines;
}

TEST(Sweep, GridTimesZipExpandsGridMajorWithTheZippedTupleFastest) {
  const SweepSpec spec = Parse(
      "recipe: r.yaml\noutput_dir: out\n"
      "grid: {lora.rank: [4, 8], optim.lr: [1.0e-3, 2.0e-3, 3.0e-3]}\n"
      "zip: {train.seed: [1, 2], lora.alpha: [8, 16]}\n");
  auto runs = ExpandSweep(spec);
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 2u * 3u * 2u);
  EXPECT_EQ(Values((*runs)[0]), (std::vector<std::string>{"lora.rank=4", "optim.lr=1.0e-3", "train.seed=1", "lora.alpha=8"}));
  EXPECT_EQ(Values((*runs)[1]), (std::vector<std::string>{"lora.rank=4", "optim.lr=1.0e-3", "train.seed=2", "lora.alpha=16"}));
  EXPECT_EQ(Values((*runs)[2]), (std::vector<std::string>{"lora.rank=4", "optim.lr=2.0e-3", "train.seed=1", "lora.alpha=8"}));
  EXPECT_EQ(Values((*runs)[11]), (std::vector<std::string>{"lora.rank=8", "optim.lr=3.0e-3", "train.seed=2", "lora.alpha=16"}));
  EXPECT_EQ(SweptKeys(spec), (std::vector<std::string>{"lora.rank", "optim.lr", "train.seed", "lora.alpha"}));
  for (size_t i = 0; i < runs->size(); ++i) EXPECT_EQ((*runs)[i].index, static_cast<int64_t>(i));
}

TEST(Sweep, ZipAloneAndNestedKeysExpand) {
  auto runs = ExpandSweep(Parse("recipe: r.yaml\noutput_dir: out\nzip: {lora: {rank: [4, 8, 16]}, optim.lr: [1, 2, 3]}\n"));
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ(Values((*runs)[2]), (std::vector<std::string>{"lora.rank=16", "optim.lr=3"}));
}

TEST(Sweep, RunNamesAreTheSweptValuesUniqueAndSafe) {
  const SweepSpec spec = Parse(
      "recipe: r.yaml\noutput_dir: runs/x\n"
      "grid: {lora.rank: [4, 8], optim.lr: [2.0e-5, 1.0e-4], lora.targets: [[q, v], [q, k, v, o]], "
      "data.path: [a/b, a_b, " + std::string(200, 'z') + "]}\n");
  auto runs = ExpandSweep(spec);
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_EQ((*runs)[0].name, "lora.rank=4,optim.lr=2.0e-5,lora.targets=_q,_v_,data.path=a_b");
  EXPECT_EQ((*runs)[0].dir, "runs/x/" + (*runs)[0].name);
  std::set<std::string> names;
  for (const SweepRun& run : *runs) {
    EXPECT_TRUE(names.insert(run.name).second) << "duplicate " << run.name;
    EXPECT_LE(run.name.size(), 120u) << run.name;
    EXPECT_EQ(run.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._=+-,"),
              std::string::npos) << run.name;
  }
  // The same values always give the same name, so a re-run finds its folders.
  EXPECT_EQ(ExpandSweep(spec)->back().name, runs->back().name);
  // The run's overrides: its values, and its folder as output_dir (quoted: names hold '=' and ',').
  const std::vector<std::string> overrides = RunOverrides(spec, (*runs)[0]);
  EXPECT_EQ(overrides[1], "optim.lr=2.0e-5");
  EXPECT_EQ(overrides[2], "lora.targets=[q, v]");
  EXPECT_EQ(overrides.back(), "output_dir='runs/x/" + (*runs)[0].name + "'");
}

TEST(Sweep, FileErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\nzip: {lora.rank: [4, 8], optim.lr: [1, 2, 3]}\n"),
            "s.yaml:3: zip: optim.lr has 3 values but lora.rank has 2 (zip lists vary together and need equal "
            "lengths)");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {}\n"),
            "s.yaml:3: grid: empty; give at least one key: [values]");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {lora.rank: []}\n"),
            "s.yaml:3: grid: lora.rank: the list of values is empty");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {lora.rank: 4}\n"),
            "s.yaml:3: grid: lora.rank: expected a list of values, got \"4\"");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {a: [1]}\nsweeps: 3\n"),
            "s.yaml:4: sweeps: unknown key (a sweep file has recipe, overrides, grid, zip, output_dir)");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\n"),
            "s.yaml: nothing to sweep: give grid: and/or zip: with key: [values]");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\ngrid: {a: [1]}\n"), "s.yaml: output_dir: missing (required)");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {a: [1]}\nzip: {a: [2]}\n"),
            "s.yaml:4: a is swept twice (grid and zip, or dotted and nested)");
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {a: [1, 1]}\n"),
            "s.yaml: two runs have the same values (a=1): a value is listed twice");
  EXPECT_NE(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid: {output_dir: [x, y]}\n").find("output_dir cannot be swept"),
            std::string::npos);
  // yaml-cpp would keep the first of two equal keys; the sweep would silently lose the second list.
  EXPECT_EQ(ErrorOf("recipe: r.yaml\noutput_dir: o\ngrid:\n  lora.rank: [4]\n  lora.rank: [8]\n"),
            "s.yaml:5: grid.lora.rank: given twice in this file (lines 4 and 5); keep one of them");
}

TEST(Sweep, PlanLoadsEveryRunsRecipeAndNamesAnUnknownSweptKey) {
  SweepSpec spec = Parse("recipe: " + kNano + "\noutput_dir: o\ngrid:\n  lora.rank: [4, 8]\n  lora.rnak: [1]\n");
  auto planned = PlanSweep(spec, [](const Recipe&) { return int64_t{5}; });
  ASSERT_FALSE(planned.ok());
  EXPECT_TRUE(IsBadInput(planned.status()));
  EXPECT_EQ(planned.status().message(),
            "s.yaml:5: grid: lora.rnak (run lora.rank=4,lora.rnak=1): lora.rnak: unknown key (did you mean lora.rank?)");

  spec = Parse("recipe: " + kNano + "\noutput_dir: o\noverrides: [data.source=demo]\ngrid: {optim.lr: [1.0e-3, x]}\n");
  planned = PlanSweep(spec, [](const Recipe&) { return int64_t{5}; });
  ASSERT_FALSE(planned.ok());
  EXPECT_NE(planned.status().message().find("s.yaml:4: grid: optim.lr (run optim.lr=x): optim.lr"), std::string::npos)
      << planned.status();

  spec = Parse("recipe: " + kNano + "\noutput_dir: o\noverrides: [data.source=demo]\ngrid: {optim.lr: [1.0e-3, 2.0e-3]}\n");
  planned = PlanSweep(spec, [](const Recipe& r) { return static_cast<int64_t>(r.optim.lr * 1000); });
  ASSERT_TRUE(planned.ok()) << planned.status();
  EXPECT_EQ((*planned)[0].total_steps, 1);
  EXPECT_EQ((*planned)[1].total_steps, 2);
}

TEST_F(SweepRunDir, CompleteWhenMetricsAndFinalCheckpointReachTheTotal) {
  EXPECT_EQ(RunStatus(ReadRunProgress(dir_), 5, std::nullopt), "not run");
  Metrics(StepLines(1, 5, 3.0));
  Checkpoint(3);
  RunProgress p = ReadRunProgress(dir_);
  EXPECT_EQ(p.last_step, 5);
  EXPECT_EQ(p.checkpoint_step, 3);
  EXPECT_FALSE(IsComplete(p, 5)) << "steps 4-5 were lost with the crash: the resumed run redoes them";
  EXPECT_EQ(RunStatus(p, 5, std::nullopt), "incomplete");
  Checkpoint(5);
  p = ReadRunProgress(dir_);
  EXPECT_TRUE(IsComplete(p, 5));
  EXPECT_FALSE(IsComplete(p, 6)) << "a longer run (more steps in the recipe) is not complete";
  EXPECT_EQ(RunStatus(p, 5, 1), "complete") << "a later success outranks an earlier failure";
  EXPECT_DOUBLE_EQ(p.final_loss, 3.0 - 0.5);
  EXPECT_DOUBLE_EQ(p.tokens_per_s, (200 + 300 + 400 + 500) / 4.0) << "mean over the steps after the first";
  // A checkpoint folder without its manifest is one being written: not complete.
  fs::remove(dir_ + "/checkpoints/step-00000005/manifest.pb");
  EXPECT_EQ(ReadRunProgress(dir_).checkpoint_step, 0);
}

TEST_F(SweepRunDir, ResumedMetricsCountEachStepOnceAndFailuresAreRecorded) {
  // Steps 4-5 written, crash, resume from step 3 rewrote them with other numbers.
  Metrics(StepLines(1, 5, 3.0) + StepLines(4, 5, 9.0));
  RunProgress p = ReadRunProgress(dir_);
  EXPECT_EQ(p.last_step, 5);
  EXPECT_DOUBLE_EQ(p.final_loss, 9.0 - 0.5);
  ASSERT_TRUE(WriteRunExit(dir_, 1).ok());
  EXPECT_EQ(ReadRunExit(dir_), 1);
  EXPECT_EQ(RunStatus(p, 7, ReadRunExit(dir_)), "failed (exit 1)");
  EXPECT_EQ(RunStatus(p, 7, kRunPreemptedExit), "preempted") << "checkpoint saved on SLURM's signal; resumes";
  ClearRunExit(dir_);
  EXPECT_EQ(ReadRunExit(dir_), std::nullopt);
}

TEST(SweepSummary, CsvQuotesFieldsWithCommasQuotesAndNewlines) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("[q, v]"), "\"[q, v]\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("a\nb"), "\"a\nb\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");
  SummaryRow row;
  row.run = "lora.rank=4,lora.targets=_q,_v_";
  row.values = {"4", "[q, v]"};
  row.progress.final_loss = 1.25;
  row.progress.tokens_per_s = 1000;
  row.progress.last_step = 5;
  row.total_steps = 5;
  row.status = "failed (exit 1)";
  EXPECT_EQ(SummaryCsv({"lora.rank", "lora.targets"}, {row}),
            "run,lora.rank,lora.targets,final_loss,eval_loss,tokens_per_s,steps,total_steps,status\n"
            "\"lora.rank=4,lora.targets=_q,_v_\",4,\"[q, v]\",1.250000,,1000.0,5,5,failed (exit 1)\n");
}

TEST(SweepSlurm, ArrayScriptHasATaskPerRunAndTheSummaryRunsAfter) {
  const SweepSpec spec = Parse("recipe: r.yaml\noutput_dir: runs/s\ngrid: {lora.rank: [4, 8], optim.lr: [1, 2]}\n");
  auto runs = ExpandSweep(spec);
  ASSERT_TRUE(runs.ok());
  SweepSlurmJob job{"/opt/zen", "/w/s.yaml", "/w", {"train.max_steps=3"}, {"--partition=gpu"}};
  const std::string array = RenderSweepArrayScript(job, spec, *runs);
  for (const char* line : {"#SBATCH --array=0-3\n", "#SBATCH --chdir=/w\n", "#SBATCH --output=/w/runs/s/slurm/run-%a.out\n",
                           "#SBATCH --partition=gpu\n", "#   3: lora.rank=8,optim.lr=2\n",
                           "'/opt/zen' sweep '/w/s.yaml' 'train.max_steps=3' --run-index \"$SLURM_ARRAY_TASK_ID\" &\n",
                           "#SBATCH --signal=B:USR1@120\n", "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"}) {
    EXPECT_NE(array.find(line), std::string::npos) << line << "\nin:\n" << array;
  }
  const std::string summary = RenderSweepSummaryScript(job, spec);
  EXPECT_NE(summary.find("exec '/opt/zen' sweep '/w/s.yaml' 'train.max_steps=3' --summary-only\n"), std::string::npos)
      << summary;
}

}  // namespace
}  // namespace zen
