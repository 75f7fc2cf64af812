#include "launch/job_script.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace zen {
namespace {

using Flags = std::vector<std::pair<std::string, std::string>>;

JobSpec Spec(const Flags& flags) {
  JobSpec spec;
  spec.zen = "/opt/zen/bin/zen";
  spec.recipe = "configs/recipes/zen-nano-lora.yaml";
  spec.overrides = {"data.source=demo", "lora.targets=[q, v]"};
  spec.workdir = "/home/me/zen";
  spec.output_dir = "/scratch/runs/nano";
  spec.job_name = "zen-nano-lora";
  EXPECT_TRUE(ApplySubmitFlags(flags, spec).ok());
  return spec;
}

std::string Render(const JobSpec& spec) {
  auto script = RenderJobScript(spec);
  EXPECT_TRUE(script.ok()) << script.status();
  return script.ok() ? *script : "";
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(JobScript, SrunWithPmixStartsOneZenPerTaskWithTheRecipeAndQuotedOverrides) {
  const std::string s = Render(Spec({{"--nodes", "2"}, {"--tasks-per-node", "4"}}));
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_TRUE(Has(s, "#SBATCH --job-name=zen-nano-lora\n#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=4\n")) << s;
  EXPECT_TRUE(Has(s, "#SBATCH --chdir=/home/me/zen\n#SBATCH --output=/scratch/runs/nano/slurm/train-%j.out\n"
                     "#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@120\n#SBATCH --no-requeue\n")) << s;
  EXPECT_TRUE(Has(s, "srun --mpi=pmix /opt/zen/bin/zen train configs/recipes/zen-nano-lora.yaml data.source=demo "
                     "'lora.targets=[q, v]' &\n")) << s;
  EXPECT_TRUE(Has(s, "requeue_after_preemption=no\n"));
}

// The bug this guards: an empty {{overrides}} once dropped the whole training line (`$!: unbound variable`).
TEST(JobScript, NoOverridesAndNoCpusStillStartTheTraining) {
  JobSpec spec = Spec({{"--nodes", "2"}, {"--tasks-per-node", "2"}, {"--requeue", ""}});
  spec.overrides.clear();
  const std::string s = Render(spec);
  EXPECT_TRUE(Has(s, "srun --mpi=pmix /opt/zen/bin/zen train configs/recipes/zen-nano-lora.yaml &\npid=$!\n")) << s;
}

TEST(JobScript, OptionsNotAskedForLeaveNoLine) {
  const std::string s = Render(Spec({{"--nodes", "1"}, {"--tasks-per-node", "2"}}));
  for (const char* absent : {"--cpus-per-task", "--gpus-per-task", "--time", "--partition", "OMP_NUM_THREADS=",
                             "train.threads", "{{"}) {
    EXPECT_FALSE(Has(s, absent)) << absent << " in\n" << s;
  }
}

TEST(JobScript, CpusPerTaskSetThreadsForSrunOmpAndTheTrainer) {
  const std::string s = Render(Spec({{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--cpus-per-task", "8"},
                                     {"--gpus-per-task", "1"}, {"--time", "1-00:00:00"}, {"--partition", "gpu"}}));
  EXPECT_TRUE(Has(s, "#SBATCH --cpus-per-task=8\n#SBATCH --gpus-per-task=1\n#SBATCH --time=1-00:00:00\n"
                     "#SBATCH --partition=gpu\n")) << s;
  EXPECT_TRUE(Has(s, "export OMP_NUM_THREADS=8\n"));
  EXPECT_TRUE(Has(s, "srun --mpi=pmix --cpus-per-task=8 /opt/zen/bin/zen train")) << s;
  EXPECT_TRUE(Has(s, "'lora.targets=[q, v]' train.threads=8 &\n")) << s;
  JobSpec own_threads = Spec({{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--cpus-per-task", "8"}});
  own_threads.overrides.push_back("train.threads=4");
  const std::string t = Render(own_threads);
  EXPECT_TRUE(Has(t, "train.threads=4 &\n")) << t;
  EXPECT_FALSE(Has(t, "train.threads=8"));
}

TEST(JobScript, MpirunPlacesTasksPerNodeOnEveryNode) {
  const std::string s = Render(Spec({{"--nodes", "3"}, {"--tasks-per-node", "4"}, {"--mpi", "mpirun"}}));
  EXPECT_TRUE(Has(s, "mpirun -np 12 --map-by ppr:4:node --bind-to none /opt/zen/bin/zen train")) << s;
  EXPECT_FALSE(Has(s, "srun --mpi"));
}

TEST(JobScript, RequeueAfterAPreemptionSaveAndTheGraceBeforeTheLimit) {
  const std::string s = Render(Spec({{"--nodes", "1"}, {"--tasks-per-node", "1"}, {"--requeue", ""},
                                     {"--time", "30"}, {"--signal-grace", "300"}}));
  EXPECT_TRUE(Has(s, "#SBATCH --signal=B:USR1@300\n#SBATCH --requeue\n")) << s;
  EXPECT_TRUE(Has(s, "requeue_after_preemption=yes\n"));
  EXPECT_TRUE(Has(s, "if [ \"$status\" = 75 ] && [ \"$requeue_after_preemption\" = yes ]; then")) << s;
  EXPECT_TRUE(Has(s, "scontrol requeue \"${SLURM_JOB_ID}\""));
  EXPECT_TRUE(Has(s, "trap forward USR1 TERM"));
}

TEST(JobScript, TheScriptIsValidBash) {
  for (const char* mpi : {"pmix", "mpirun"}) {
    const std::string path = ::testing::TempDir() + "/job_script_test.sbatch";
    std::ofstream(path) << Render(Spec({{"--nodes", "2"}, {"--tasks-per-node", "2"}, {"--mpi", mpi},
                                        {"--cpus-per-task", "2"}, {"--requeue", ""}}));
    EXPECT_EQ(std::system(("bash -n " + path).c_str()), 0) << mpi;
    std::remove(path.c_str());
  }
}

TEST(JobScript, BadFlagsAreBadInputNamingTheFlag) {
  const std::vector<std::pair<Flags, std::string>> cases = {
      {{{"--tasks-per-node", "2"}}, "--nodes: required"},
      {{{"--nodes", "1"}}, "--tasks-per-node: required"},
      {{{"--nodes", "0"}, {"--tasks-per-node", "2"}}, "--nodes: expected a positive integer, got \"0\""},
      {{{"--nodes", "1"}, {"--tasks-per-node", "two"}}, "--tasks-per-node: expected a positive integer"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--cpus-per-task", "-1"}}, "--cpus-per-task:"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--gpus-per-task", "1.5"}}, "--gpus-per-task:"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--time", "1:2:3:4"}}, "--time: \"1:2:3:4\" is not"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--time", "soon"}}, "--time:"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--mpi", "mvapich"}}, "--mpi: expected pmix"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--partition", "gpu a"}}, "--partition:"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--job-name", "x\n#SBATCH"}}, "--job-name:"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--signal-grace", "70000"}}, "--signal-grace: expected"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--time", "2"}, {"--signal-grace", "120"}},
       "--signal-grace: 120 s is not shorter than --time 2 (120 s)"},
      {{{"--nodes", "1"}, {"--tasks-per-node", "2"}, {"--zen", "/no/such/zen"}}, "--zen: \"/no/such/zen\""},
  };
  for (const auto& [flags, message] : cases) {
    JobSpec spec;
    spec.workdir = "/w";
    spec.output_dir = "/w/out";
    spec.job_name = "zen-nano-lora";
    const absl::Status s = ApplySubmitFlags(flags, spec);
    EXPECT_TRUE(IsBadInput(s)) << message;
    EXPECT_TRUE(Has(std::string(s.message()), message)) << s.message() << " lacks " << message;
  }
}

TEST(JobScript, AnOutputDirWithASpaceCannotGoOnAnSbatchLine) {
  JobSpec spec;
  spec.workdir = "/w";
  spec.output_dir = "/w/my runs";
  spec.job_name = "zen-nano-lora";
  const absl::Status s = ApplySubmitFlags({{"--nodes", "1"}, {"--tasks-per-node", "1"}}, spec);
  EXPECT_TRUE(IsBadInput(s));
  EXPECT_TRUE(Has(std::string(s.message()), "output_dir: \"/w/my runs\"")) << s.message();
}

TEST(JobScript, ADefaultJobNameThatAnSbatchLineCannotHoldAsksForJobName) {
  JobSpec spec;
  spec.workdir = "/w";
  spec.output_dir = "/w/out";
  spec.job_name = "my recipe";  // from configs/my recipe.yaml
  const absl::Status s = ApplySubmitFlags({{"--nodes", "1"}, {"--tasks-per-node", "1"}}, spec);
  EXPECT_TRUE(Has(std::string(s.message()), "--job-name: \"my recipe\"")) << s.message();
}

TEST(JobScript, SlurmTimeFormsBecomeSeconds) {
  EXPECT_EQ(*SlurmTimeSeconds("90"), 90 * 60);
  EXPECT_EQ(*SlurmTimeSeconds("5:30"), 5 * 60 + 30);
  EXPECT_EQ(*SlurmTimeSeconds("2:00:00"), 7200);
  EXPECT_EQ(*SlurmTimeSeconds("1-12"), 36 * 3600);
  EXPECT_EQ(*SlurmTimeSeconds("1-0:30"), 24 * 3600 + 30 * 60);
  EXPECT_EQ(*SlurmTimeSeconds("2-01:02:03"), 2 * 86400 + 3723);
  EXPECT_GT(*SlurmTimeSeconds("UNLIMITED"), int64_t{1} << 40);
  for (const char* bad : {"", ":", "1::2", "-1", "a-1", "1-", "1:2:3:4", "1.5"}) {
    EXPECT_TRUE(IsBadInput(SlurmTimeSeconds(bad).status())) << bad;
  }
}

TEST(JobScript, FillTemplateDropsOnlyLinesWithAnEmptyOptionalValueAndRefusesUnknownNames) {
  auto filled = FillTemplate("a={{a}}\n#SBATCH --b={{?b}}\nend {{a}}{{a}}\nrun {{b}}&\n#SBATCH --c={{?a}}\n",
                             {{"a", "1"}, {"b", ""}});
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(*filled, "a=1\nend 11\nrun &\n#SBATCH --c=1\n");
  const auto unknown = FillTemplate("{{nope}}\n", {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInternal);
}

TEST(JobScript, ShellWordQuotesOnlyWhatBashWouldSplitOrExpand) {
  EXPECT_EQ(ShellWord("optim.lr=2e-3"), "optim.lr=2e-3");
  EXPECT_EQ(ShellWord("/a/b-c_d.yaml"), "/a/b-c_d.yaml");
  EXPECT_EQ(ShellWord("lora.targets=[q,v]"), "'lora.targets=[q,v]'");
  EXPECT_EQ(ShellWord("~lora"), "'~lora'");
  EXPECT_EQ(ShellWord("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellWord("$HOME"), "'$HOME'");
  EXPECT_EQ(ShellWord(""), "''");
}

}  // namespace
}  // namespace zen
