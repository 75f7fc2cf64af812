#include "trainer/trainer.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "checkpoints/hf_checkpoint.h"
#include "core/derived.h"
#include "core/log.h"
#include "models/lora.h"
#include "parallel/layers.h"
#include "parallel/local_communicator.h"
#include "parallel/mpi_communicator.h"
#include "parallel/nccl_communicator.h"
#include "parallel/world.h"
#include "parallel/zero.h"
#include "trainer/lr_schedule.h"
#include "trainer/checkpointing.h"
#include "trainer/memory_meter.h"
#include "trainer/metrics.h"
#include "trainer/model_stage.h"
#include "trainer/progress.h"
#include "trainer/run_files.h"
#include "trainer/tensorboard.h"
#include "trainer/train_state.h"

namespace zen {
namespace {

using Clock = std::chrono::steady_clock;

absl::StatusOr<torch::Device> ChooseDevice(const TrainSpec& t, const WorldInfo& world) {
  if (t.device == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) return BadInput("train.device=cuda: no CUDA device is visible");
  return torch::Device(torch::kCUDA, static_cast<int>(world.local_rank % torch::cuda::device_count()));
}

// The world group: NCCL for CUDA tensors, MPI for CPU ones, a group of one for a single process.
std::unique_ptr<Communicator> OpenWorld(const Recipe& r, const WorldInfo& world, torch::Device device) {
  if (world.size == 1) return std::make_unique<LocalCommunicator>();
  std::unique_ptr<Communicator> mpi = MpiWorld(r.parallel.timeout_s);
  if (!device.is_cuda()) return mpi;
  std::unique_ptr<MpiCommunicator> owned(static_cast<MpiCommunicator*>(mpi.release()));
  return NcclCommunicator::Create(std::move(owned), device.index());
}

// Routed experts' weights and adapters: model.layers.{i}.mlp.experts.{e}.* (not the shared expert).
bool IsExpertParameter(const std::string& name) { return name.find(".mlp.experts.") != std::string::npos; }

// Pipeline stages with a tied embedding: the first and last stage each hold model.embed_tokens.weight.
void FindTiedEmbedding(TrainState& s) {
  const int64_t pp = s.grid->layout().pp, stage = s.grid->coords().pp;
  if (pp == 1 || !s.recipe.model.tie_embeddings || (stage != 0 && stage != pp - 1)) return;
  for (const auto& [name, p] : s.trainable) {
    if (name != "model.embed_tokens.weight") continue;
    s.tied_embedding = p;
    s.tied_peer = stage == 0 ? pp - 1 : 0;
  }
}

absl::Status BuildModel(TrainState& s) {
  const Recipe& r = s.recipe;
  ZEN_RETURN_IF_ERROR(CheckSupported(r.model));
  // The same seed on every rank: each draws the full initial weights' stream and keeps its slice.
  torch::manual_seed(r.train.seed);
  const TpGroup tp = s.grid->TensorGroup();
  const Layout& layout = s.grid->layout();
  ZEN_ASSIGN_OR_RETURN(s.schedule, ParseSchedule(r.parallel.schedule));
  const EpGroup ep{&s.grid->ep(), s.grid->coords().ep, layout.ep};
  s.model = Qwen3(r.model, tp, ChooseStage(r, layout, s.grid->coords().pp), r.moe, ep);
  if (!r.model.checkpoint.empty()) ZEN_RETURN_IF_ERROR(LoadHfWeights(r.model.checkpoint, *s.model, tp));
  if (r.lora.enabled) ZEN_RETURN_IF_ERROR(ApplyLora(*s.model, r.lora, /*whole_model=*/layout.pp == 1).status());
  s.model->to(s.device);

  std::vector<int64_t> numels;
  for (const auto& item : s.model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    s.trainable.emplace_back(item.key(), item.value());
    numels.push_back(item.value().numel());
  }
  FindTiedEmbedding(s);
  // Experts differ across the expert group and repeat across the expert-data-parallel group; every other
  // parameter repeats across all of dp. The last stage's copy of a tied embedding stays out of the norm
  // groups: it counts once, on the first stage.
  std::vector<std::pair<std::string, torch::Tensor>> shared, experts;
  std::vector<torch::Tensor> shared_tensors, expert_tensors;
  for (const auto& item : s.trainable) {
    const bool expert = IsExpertParameter(item.first);
    (expert ? expert_tensors : shared_tensors).push_back(item.second);
    if (s.tied_embedding.defined() && s.model->stage().has_head && item.second.is_same(s.tied_embedding)) continue;
    (expert ? experts : shared).push_back(item);
  }
  const auto split_dims = TpSplitDims(*s.model);
  s.tp_params = GroupByTpSplit(shared, split_dims);
  s.expert_tp_params = GroupByTpSplit(experts, split_dims);
  s.dp_buckets = std::make_unique<GradientBuckets>(shared_tensors);
  s.edp_buckets = std::make_unique<GradientBuckets>(expert_tensors);
  // Without ZeRO-1 every dp rank owns (and keeps optimizer state for) every parameter.
  s.owners = r.parallel.zero == 1 ? AssignOwners(numels, s.grid->layout().dp)
                                  : std::vector<int64_t>(numels.size(), s.grid->coords().dp);
  std::vector<NamedParam> owned;
  for (size_t i = 0; i < s.trainable.size(); ++i) {
    if (s.owners[i] == s.grid->coords().dp) owned.push_back({s.trainable[i].first, s.trainable[i].second});
  }
  s.optimizer = std::make_unique<AdamW>(owned, r.optim);
  return absl::OkStatus();
}

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
  ZEN_RETURN_IF_ERROR(CheckLayout(r, world.size).status());
  ZEN_ASSIGN_OR_RETURN(s.device, ChooseDevice(r.train, world));
  s.world = OpenWorld(r, world, s.device);
  SetLogRank(static_cast<int>(s.world->rank()));
  ZEN_ASSIGN_OR_RETURN(s.grid, Grid::Build(r, *s.world));
  ZEN_ASSIGN_OR_RETURN(s.data, OpenDataSource(r));
  s.total_steps = TotalSteps(r.train, s.data->TokensPerEpoch());
  // Resume from the latest complete checkpoint in output_dir, unless train.resume=false.
  absl::StatusOr<std::string> latest = LatestCheckpoint(r.output_dir + "/checkpoints");
  std::optional<CheckpointReader> checkpoint;
  if (r.train.resume && latest.ok()) {
    ZEN_ASSIGN_OR_RETURN(checkpoint, CheckpointReader::Open(*latest));
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
      metrics->Write(record);
      tensorboard->AddScalar("train/loss", step + 1, out.loss);
      tensorboard->AddScalar("train/lr", step + 1, lr);
      tensorboard->AddScalar("train/grad_norm", step + 1, out.grad_norm);
      tensorboard->AddScalar("train/tokens_per_s", step + 1, tokens_per_s);
      progress.Update(step + 1, s.total_steps, out.loss, lr, tokens_per_s);
    }
    const bool last = step + 1 == s.total_steps;
    if (last || (r.checkpoint.interval > 0 && (step + 1) % r.checkpoint.interval == 0)) {
      ZEN_RETURN_IF_ERROR(SaveTrainingCheckpoint(s, step + 1, result.skipped_steps));
    }
  }
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
