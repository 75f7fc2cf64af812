#include "trainer/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/derived.h"
#include "core/log.h"
#include "parallel/world.h"
#include "trainer/checkpointing.h"
#include "trainer/evaluate.h"
#include "trainer/lr_schedule.h"
#include "trainer/memory_meter.h"
#include "trainer/metrics.h"
#include "trainer/model_stage.h"
#include "trainer/preemption.h"
#include "trainer/progress.h"
#include "trainer/rank_setup.h"
#include "trainer/run_files.h"
#include "trainer/tensorboard.h"
#include "trainer/train_state.h"

namespace zen {
namespace {

using Clock = std::chrono::steady_clock;

// Every rank's coordinates and parameter counts, gathered for run.json.
std::vector<RankShare> GatherShares(TrainState& s) {
  int64_t params = 0, trainable = 0, optimizer_state = 0;
  for (const auto& p : s.model->parameters()) {
    params += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  for (const auto& [name, t] : s.optimizer->StateTensors()) optimizer_state += t.dim() > 0 ? t.numel() : 0;
  const Coordinates& c = s.grid->coords();
  const StageRange& stage = s.model->stage();
  std::vector<int64_t> fields = {s.world->rank(), c.tp, c.pp, c.ep, c.dp, params, trainable, optimizer_state,
                                 stage.first_layer, stage.end_layer};
  const auto n = static_cast<int64_t>(fields.size());
  torch::Tensor mine = torch::tensor(fields, torch::TensorOptions().dtype(torch::kLong)).to(s.device);
  torch::Tensor all = s.world->AllGather(mine).cpu().view({-1, n});
  std::vector<RankShare> shares;
  for (int64_t i = 0; i < all.size(0); ++i) {
    auto v = [&](int64_t k) { return all[i][k].item<int64_t>(); };
    shares.push_back({v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9)});
  }
  return shares;
}

// Test hook: ZEN_TEST_FAULT="RANK:STEP:fail|hang|nan" makes that rank fail, stop answering, or (nan)
// produce a NaN loss from that step on (and "killsave": checkpoints/checkpoint.cpp), so the tests can prove a failing rank ends the whole job and
// the non-finite-loss policy skips, counts and finally stops.
void MaybeInjectFault(TrainState& s, int64_t step) {
  const char* spec = std::getenv("ZEN_TEST_FAULT");
  if (spec == nullptr) return;
  long fault_rank = -1, fault_step = -1;
  char kind[16] = {0};
  if (std::sscanf(spec, "%ld:%ld:%15s", &fault_rank, &fault_step, kind) != 3) return;
  if (fault_rank != s.world->rank() || step < fault_step) return;
  if (std::string(kind) != "nan" && std::string(kind) != "fail" && std::string(kind) != "hang") return;
  if (std::string(kind) == "nan") {
    s.poison_loss = true;
    return;
  }
  if (step != fault_step) return;
  if (std::string(kind) == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
  TORCH_CHECK(false, "injected failure (ZEN_TEST_FAULT=", spec, ")");
}

// What a step cost across the job, gathered from every rank.
struct StepMeasures {
  double bubble = 0;                 // mean over ranks of (time blocked on pipeline transfers / step time)
  int64_t peak_memory_bytes = 0;     // the largest per-rank peak of tensor memory during the step
  std::vector<int64_t> stage_peak_memory_bytes;  // per pipeline stage: its ranks' largest peak
  std::vector<int64_t> stage_peak_in_flight;     // per pipeline stage: micro-batches held at once
};

StepMeasures MeasureAcrossRanks(TrainState& s, const StepResult& out, double seconds) {
  const int64_t pp = s.grid->layout().pp, stage = s.grid->coords().pp;
  torch::Tensor idle = torch::full({1}, out.pipeline_wait_s / std::max(seconds, 1e-9),
                                   torch::TensorOptions().dtype(torch::kDouble).device(s.device));
  s.world->AllReduceSum(idle);
  // [peak bytes per stage..., in-flight per stage...]: each rank fills its stage's two slots, max over ranks.
  torch::Tensor peaks = torch::zeros({2 * pp}, torch::kLong);
  peaks[stage] = MemoryMeter::Peak(s.device);
  peaks[pp + stage] = out.peak_in_flight;
  peaks = peaks.to(s.device);
  s.world->AllReduceMax(peaks);
  peaks = peaks.cpu();
  StepMeasures m;
  m.bubble = idle.item<double>() / static_cast<double>(s.world->size());
  for (int64_t k = 0; k < pp; ++k) {
    m.stage_peak_memory_bytes.push_back(peaks[k].item<int64_t>());
    m.stage_peak_in_flight.push_back(peaks[pp + k].item<int64_t>());
    m.peak_memory_bytes = std::max(m.peak_memory_bytes, m.stage_peak_memory_bytes.back());
  }
  return m;
}

absl::Status Setup(TrainState& s, const WorldInfo& world) {
  const Recipe& r = s.recipe;
  ZEN_RETURN_IF_ERROR(OpenRank(s, world));
  ZEN_ASSIGN_OR_RETURN(s.data, OpenDataSource(r));
  s.total_steps = TotalSteps(r.train, s.data->TokensPerEpoch());
  // Resume from the latest complete checkpoint in output_dir (or train.resume_from's), unless train.resume=false.
  std::optional<CheckpointReader> checkpoint;
  absl::StatusOr<std::string> resume = absl::NotFoundError("train.resume=false");
  if (r.train.resume || !r.train.resume_from.empty()) resume = CheckpointToResume(r);
  if (!resume.ok() && !absl::IsNotFound(resume.status())) return resume.status();
  if (resume.ok()) {
    ZEN_ASSIGN_OR_RETURN(checkpoint, CheckpointReader::Open(*resume));
    s.start_step = checkpoint->manifest().step;
    s.skipped_before = checkpoint->manifest().skipped_steps;
  }
  if (s.world->rank() == 0) ZEN_RETURN_IF_ERROR(PrepareOutputDir(r, s.start_step));
  s.world->Barrier();
  ZEN_RETURN_IF_ERROR(BuildModel(s));
  if (checkpoint) {
    ZEN_RETURN_IF_ERROR(LoadTrainingCheckpoint(s, *checkpoint));
    Log0(absl::StrCat("zen train: resumed from ", checkpoint->dir(), " (step ", s.start_step, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> TrainLoop(TrainState& s, int64_t threads) {
  const Recipe& r = s.recipe;
  const bool writer = s.world->rank() == 0;
  const std::vector<RankShare> shares = GatherShares(s);
  std::unique_ptr<MetricsLog> metrics;
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (writer) {
    ZEN_RETURN_IF_ERROR(WriteRunFiles(r, WorldFromEnvironment(), shares));
    ZEN_ASSIGN_OR_RETURN(metrics, MetricsLog::Open(r.output_dir));
    ZEN_ASSIGN_OR_RETURN(tensorboard, TensorBoardWriter::Open(r.output_dir));
  }
  const Layout& l = s.grid->layout();
  const std::string schedule = l.pp > 1 ? absl::StrCat(" ", r.parallel.schedule) : "";
  Log0(absl::StrCat("zen train: ", r.model.name, " on ", s.world->size(), " rank(s) (tp ", l.tp, ", pp ", l.pp,
                    schedule, ", dp ", l.dp, ", ep ", l.ep, "), rank 0 holds ", shares[0].params, " parameters (",
                    shares[0].trainable_params, " trainable); ", s.total_steps, " steps of ",
                    TokensPerStep(r.train), " tokens; ", threads, " intra-op threads per rank; ", r.train.dtype,
                    " on ", s.device.str()));

  ProgressLine progress(r.train.log_interval);
  TrainResult result;
  result.steps = s.start_step;
  result.skipped_steps = s.skipped_before;
  int64_t bad_in_a_row = 0;
  const int64_t tokens_per_step = TokensPerStep(r.train);
  for (int64_t step = s.start_step; step < s.total_steps; ++step) {
    MaybeInjectFault(s, step + 1);
    const double lr = LearningRate(r.optim, step, s.total_steps);
    const int64_t bytes_before = s.grid->BytesSent();
    MemoryMeter::ResetPeak(s.device);
    const auto start = Clock::now();
    const StepResult out = RunStep(s, step, lr);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const int64_t comm_bytes = s.grid->BytesSent() - bytes_before;
    const StepMeasures measured = MeasureAcrossRanks(s, out, seconds);
    result.steps = step + 1;
    if (!out.finite) {
      ++result.skipped_steps;
      LogError(absl::StrCat("step ", step + 1, ": loss ", out.loss, ", grad norm ", out.grad_norm,
                            " not finite: update skipped (", ++bad_in_a_row, " in a row)"));
      if (bad_in_a_row >= r.train.max_bad_steps) {
        return absl::AbortedError(absl::StrCat("training stopped: ", bad_in_a_row, " steps in a row had a non-finite "
                                               "loss or gradient (train.max_bad_steps); lower optim.lr or check the data"));
      }
    } else {
      bad_in_a_row = 0;
      result.final_loss = out.loss;
    }
    // Validation on the held-out rows every eval.interval steps and after the last.
    std::optional<Score> held_out;
    if (r.eval.interval > 0 && ((step + 1) % r.eval.interval == 0 || step + 1 == s.total_steps)) {
      held_out = HeldOutScore(s);
      if (r.eval.keep_best && held_out->MeanLoss() < s.best_eval_loss) {
        s.best_eval_loss = held_out->MeanLoss();
        ZEN_RETURN_IF_ERROR(SaveBestCheckpoint(s, step + 1, result.skipped_steps));
      }
    }
    if (writer) {
      const double tokens_per_s = tokens_per_step / seconds;
      nlohmann::json record = {{"step", step + 1}, {"loss", out.loss}, {"lr", lr}, {"grad_norm", out.grad_norm},
                              {"tokens", (step + 1) * tokens_per_step}, {"loss_tokens", out.loss_tokens},
                              {"tokens_per_s", tokens_per_s}, {"step_time_s", seconds}, {"comm_bytes", comm_bytes},
                              {"bubble", measured.bubble}, {"peak_memory_bytes", measured.peak_memory_bytes},
                              {"stage_peak_memory_bytes", measured.stage_peak_memory_bytes},
                              {"stage_peak_in_flight", measured.stage_peak_in_flight},
                              {"skipped_steps", result.skipped_steps}};
      if (s.model->moe_stats()) {
        record["aux_loss"] = out.aux_loss;
        record["expert_load"] = out.expert_load;
        record["dropped_tokens"] = out.dropped_tokens;
        tensorboard->AddScalar("train/aux_loss", step + 1, out.aux_loss);
      }
      if (held_out) {
        record["eval_loss"] = held_out->MeanLoss();
        record["eval_ppl"] = std::exp(held_out->MeanLoss());
        record["eval_tokens"] = held_out->tokens;
        tensorboard->AddScalar("eval/loss", step + 1, held_out->MeanLoss());
      }
      metrics->Write(record);
      tensorboard->AddScalar("train/loss", step + 1, out.loss);
      tensorboard->AddScalar("train/lr", step + 1, lr);
      tensorboard->AddScalar("train/grad_norm", step + 1, out.grad_norm);
      tensorboard->AddScalar("train/tokens_per_s", step + 1, tokens_per_s);
      progress.Update(step + 1, s.total_steps, out.loss, lr, tokens_per_s);
    }
    const bool last = step + 1 == s.total_steps;
    // Every rank learns here whether any was signalled, so all stop after the same step.
    const int preempted_by = last ? 0 : AgreedPreemptionSignal(*s.world, s.device);
    if (last || preempted_by != 0 || (r.checkpoint.interval > 0 && (step + 1) % r.checkpoint.interval == 0)) {
      ZEN_RETURN_IF_ERROR(SaveTrainingCheckpoint(s, step + 1, result.skipped_steps));
    }
    if (preempted_by != 0) {
      result.preempted_by = preempted_by;
      break;
    }
  }
  ZEN_RETURN_IF_ERROR(FinishCheckpoint(s));
  if (writer) {
    progress.Finish();
    ZEN_RETURN_IF_ERROR(tensorboard->Flush());
    ZEN_RETURN_IF_ERROR(metrics->status());
  }
  s.world->Barrier();
  return result;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const Recipe& recipe) {
  const WorldInfo world = WorldFromEnvironment();
  const int64_t threads = IntraOpThreads(recipe.train, world);
  torch::set_num_threads(static_cast<int>(threads));
  MemoryMeter::Install();
  const PreemptionSignals signals;  // from here on SIGTERM / SIGUSR1 / SIGINT stop the run at the next step, saved
  TrainState state(recipe);
  // Collectives and autograd report failures as torch errors; they stop here and become a status.
  try {
    ZEN_RETURN_IF_ERROR(Setup(state, world));
    return TrainLoop(state, threads);
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
}

}  // namespace zen
