#include "trainer/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/derived.h"
#include "core/fault_injection.h"  // defines: InjectedFaultFromEnvironment
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

// Test hook (core/fault_injection.h): this rank fails, hangs, or produces a NaN loss from the fault's step on.
void MaybeInjectFault(TrainState& s, int64_t step) {
  const std::optional<InjectedFault> fault = InjectedFaultFromEnvironment();
  if (!fault || fault->rank != s.world->rank() || step < fault->step) return;
  if (fault->kind == FaultKind::kNan) {
    s.poison_loss = true;
    return;
  }
  if (step != fault->step || fault->kind == FaultKind::kKillSave) return;
  if (fault->kind == FaultKind::kHang) std::this_thread::sleep_for(std::chrono::hours(1));
  TORCH_CHECK(false, "injected failure (ZEN_TEST_FAULT=", fault->spec, ")");
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

// The job's layout, size and run length, said once at the start.
void LogRunStart(const TrainState& s, const std::vector<RankShare>& shares, int64_t threads) {
  const Recipe& r = s.recipe;
  const Layout& layout = s.grid->layout();
  const std::string schedule = layout.pp > 1 ? absl::StrCat(" ", r.parallel.schedule) : "";
  Log0(absl::StrCat("zen train: ", r.model.name, " on ", s.world->size(), " rank(s) (tp ", layout.tp, ", cp ", layout.cp, ", pp ",
                    layout.pp, schedule, ", dp ", layout.dp, ", ep ", layout.ep, "), rank 0 holds ", shares[0].params,
                    " parameters (", shares[0].trainable_params, " trainable); ", s.total_steps, " steps of ",
                    TokensPerStep(r.train), " tokens; ", threads, " intra-op threads per rank; ", r.train.dtype,
                    " on ", s.device.str()));
}

// One optimizer step with what it cost: wall time, bytes sent and the measures gathered from every rank.
struct TimedStep {
  StepResult out;
  double lr = 0;
  double seconds = 0;
  int64_t comm_bytes = 0;  // sent by this rank
  StepMeasures measured;
};

TimedStep RunTimedStep(TrainState& s, int64_t step) {
  TimedStep t;
  t.lr = LearningRate(s.recipe.optim, step, s.total_steps);
  const int64_t bytes_before = s.grid->BytesSent();
  MemoryMeter::ResetPeak(s.device);
  const auto start = Clock::now();
  t.out = RunStep(s, step, t.lr);
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  t.comm_bytes = s.grid->BytesSent() - bytes_before;
  t.measured = MeasureAcrossRanks(s, t.out, t.seconds);
  return t;
}

// The non-finite-loss policy: a step whose loss or gradient is not finite was skipped (RunStep made no
// update); it is counted, and train.max_bad_steps of them in a row stop the run.
absl::Status CountNonFiniteStep(const TrainSpec& train, int64_t step, const StepResult& out, int64_t& bad_in_a_row,
                                TrainResult& result) {
  if (out.finite) {
    bad_in_a_row = 0;
    result.final_loss = out.loss;
    return absl::OkStatus();
  }
  ++result.skipped_steps;
  LogError(absl::StrCat("step ", step, ": loss ", out.loss, ", grad norm ", out.grad_norm,
                        " not finite: update skipped (", ++bad_in_a_row, " in a row)"));
  if (bad_in_a_row < train.max_bad_steps) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("training stopped: ", bad_in_a_row, " steps in a row had a non-finite "
                                         "loss or gradient (train.max_bad_steps); lower optim.lr or check the data"));
}

// Validation on the held-out rows every eval.interval steps and after the last; with eval.keep_best a new
// lowest eval loss saves checkpoints/best. nullopt when no evaluation is due after `step`.
absl::StatusOr<std::optional<Score>> EvaluateIfDue(TrainState& s, int64_t step, int64_t skipped_steps) {
  const EvalSpec& e = s.recipe.eval;
  if (e.interval <= 0 || (step % e.interval != 0 && step != s.total_steps)) return std::nullopt;
  const Score held_out = HeldOutScore(s);
  if (e.keep_best && held_out.MeanLoss() < s.best_eval_loss) {
    s.best_eval_loss = held_out.MeanLoss();
    ZEN_RETURN_IF_ERROR(SaveBestCheckpoint(s, step, skipped_steps));
  }
  return held_out;
}

// Rank 0's record of the run: metrics.jsonl, TensorBoard events and the progress line. Other ranks hold
// an empty log that writes nothing.
class StepLog {
 public:
  // Writes the run files (run.json, ...) and opens the logs on the writer rank.
  static absl::StatusOr<StepLog> Open(const TrainState& s, const std::vector<RankShare>& shares) {
    StepLog log(s.recipe.train.log_interval);
    if (s.world->rank() != 0) return log;
    ZEN_RETURN_IF_ERROR(WriteRunFiles(s.recipe, WorldFromEnvironment(), shares));
    ZEN_ASSIGN_OR_RETURN(log.metrics_, MetricsLog::Open(s.recipe.output_dir));
    ZEN_ASSIGN_OR_RETURN(log.tensorboard_, TensorBoardWriter::Open(s.recipe.output_dir));
    return log;
  }

  // Per MoE layer: {"<layer>": value} in metrics.jsonl, moe/<name>/layer_<layer> in TensorBoard.
  void RecordMoeLayers(const StepResult& out, int64_t step, nlohmann::json& record) {
    nlohmann::json imbalance = nlohmann::json::object(), dropped = nlohmann::json::object(),
                   entropy = nlohmann::json::object();
    for (size_t i = 0; i < out.moe_layers.size(); ++i) {
      const std::string layer = std::to_string(out.moe_layers[i]);
      imbalance[layer] = out.load_imbalance[i];
      dropped[layer] = out.layer_dropped_tokens[i];
      entropy[layer] = out.router_entropy[i];
      tensorboard_->AddScalar("moe/load_imbalance/layer_" + layer, step, out.load_imbalance[i]);
      tensorboard_->AddScalar("moe/dropped_tokens/layer_" + layer, step, static_cast<double>(out.layer_dropped_tokens[i]));
      tensorboard_->AddScalar("moe/router_entropy/layer_" + layer, step, out.router_entropy[i]);
    }
    record["load_imbalance"] = imbalance;
    record["layer_dropped_tokens"] = dropped;
    record["router_entropy"] = entropy;
  }

  // One line of metrics.jsonl and the TensorBoard scalars for `step` (1-based), and the progress line.
  void Record(const TrainState& s, int64_t step, const TimedStep& t, const std::optional<Score>& held_out,
              int64_t skipped_steps) {
    if (!metrics_) return;
    const StepResult& out = t.out;
    const int64_t tokens_per_step = TokensPerStep(s.recipe.train);
    const double tokens_per_s = tokens_per_step / t.seconds;
    nlohmann::json record = {{"step", step}, {"loss", out.loss}, {"lr", t.lr}, {"grad_norm", out.grad_norm},
                             {"tokens", step * tokens_per_step}, {"loss_tokens", out.loss_tokens},
                             {"tokens_per_s", tokens_per_s}, {"step_time_s", t.seconds}, {"comm_bytes", t.comm_bytes},
                             {"bubble", t.measured.bubble}, {"peak_memory_bytes", t.measured.peak_memory_bytes},
                             {"stage_peak_memory_bytes", t.measured.stage_peak_memory_bytes},
                             {"stage_peak_in_flight", t.measured.stage_peak_in_flight},
                             {"skipped_steps", skipped_steps}};
    if (s.recipe.model.IsMoe()) {
      record["aux_loss"] = out.aux_loss;
      record["expert_load"] = out.expert_load;
      record["dropped_tokens"] = out.dropped_tokens;
      tensorboard_->AddScalar("train/aux_loss", step, out.aux_loss);
      RecordMoeLayers(out, step, record);
    }
    if (held_out) {
      record["eval_loss"] = held_out->MeanLoss();
      record["eval_ppl"] = std::exp(held_out->MeanLoss());
      record["eval_tokens"] = held_out->tokens;
      tensorboard_->AddScalar("eval/loss", step, held_out->MeanLoss());
    }
    RecordSourceTokens(s, step, record);
    metrics_->Write(record);
    tensorboard_->AddScalar("train/loss", step, out.loss);
    tensorboard_->AddScalar("train/lr", step, t.lr);
    tensorboard_->AddScalar("train/grad_norm", step, out.grad_norm);
    tensorboard_->AddScalar("train/tokens_per_s", step, tokens_per_s);
    progress_->Update(step, s.total_steps, out.loss, t.lr, tokens_per_s);
  }

  // A blend's tokens trained per source so far (data.blend): the rows of steps 1..step each source gave.
  void RecordSourceTokens(const TrainState& s, int64_t step, nlohmann::json& record) {
    const TrainSpec& t = s.recipe.train;
    for (const auto& [name, rows] : s.data->RowsPerSource(step * t.global_batch_size)) {
      record["source_tokens"][name] = rows * t.seq_len;
      tensorboard_->AddScalar("data/source_tokens/" + name, step, static_cast<double>(rows * t.seq_len));
    }
  }

  // Ends the progress line and flushes the logs; a write that failed on the way is reported here.
  absl::Status Finish() {
    if (!metrics_) return absl::OkStatus();
    progress_->Finish();
    ZEN_RETURN_IF_ERROR(tensorboard_->Flush());
    return metrics_->status();
  }

 private:
  explicit StepLog(int64_t interval) : progress_(std::make_unique<ProgressLine>(interval)) {}

  std::unique_ptr<MetricsLog> metrics_;  // null off the writer rank
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  std::unique_ptr<ProgressLine> progress_;
};

// Saves at checkpoint.interval, after the last step, and when any rank was signalled to stop (every rank
// learns that here, so all stop after the same step). Returns the signal that stops the run, or 0.
absl::StatusOr<int> CheckpointIfDue(TrainState& s, int64_t step, int64_t skipped_steps) {
  const int64_t interval = s.recipe.checkpoint.interval;
  const bool last = step == s.total_steps;
  const int preempted_by = last ? 0 : AgreedPreemptionSignal(*s.world, s.device);
  if (last || preempted_by != 0 || (interval > 0 && step % interval == 0)) {
    ZEN_RETURN_IF_ERROR(SaveTrainingCheckpoint(s, step, skipped_steps));
  }
  return preempted_by;
}

// Steps from the resumed step to the end (or a preemption), each: run, count a skipped update, evaluate,
// log, checkpoint. Steps are 0-based in the loop and 1-based everywhere they are reported.
absl::StatusOr<TrainResult> TrainLoop(TrainState& s, int64_t threads) {
  const std::vector<RankShare> shares = GatherShares(s);
  ZEN_ASSIGN_OR_RETURN(StepLog log, StepLog::Open(s, shares));
  LogRunStart(s, shares, threads);
  TrainResult result;
  result.steps = s.start_step;
  result.skipped_steps = s.skipped_before;
  int64_t bad_in_a_row = 0;
  for (int64_t step = s.start_step; step < s.total_steps; ++step) {
    MaybeInjectFault(s, step + 1);
    const TimedStep t = RunTimedStep(s, step);
    result.steps = step + 1;
    ZEN_RETURN_IF_ERROR(CountNonFiniteStep(s.recipe.train, step + 1, t.out, bad_in_a_row, result));
    ZEN_ASSIGN_OR_RETURN(const std::optional<Score> held_out, EvaluateIfDue(s, step + 1, result.skipped_steps));
    log.Record(s, step + 1, t, held_out, result.skipped_steps);
    ZEN_ASSIGN_OR_RETURN(result.preempted_by, CheckpointIfDue(s, step + 1, result.skipped_steps));
    if (result.preempted_by != 0) break;
  }
  ZEN_RETURN_IF_ERROR(FinishCheckpoint(s));
  ZEN_RETURN_IF_ERROR(log.Finish());
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
