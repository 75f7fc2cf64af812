#include "trainer/rank_setup.h"

#include <memory>
#include <string>
#include <vector>

#include "checkpoints/base_fingerprint.h"  // defines: FingerprintHfFolder
#include "checkpoints/hf_checkpoint.h"
#include "checkpoints/peft_adapter.h"     // defines: LoadPeftAdapter
#include "core/log.h"
#include "models/lora.h"
#include "parallel/layers.h"
#include "parallel/local_communicator.h"
#include "parallel/mpi_communicator.h"
#include "parallel/nccl_communicator.h"
#include "parallel/param_storage.h"  // defines: ApplyParamStorage
#include "parallel/zero.h"
#include "trainer/checkpointing.h"  // defines: SavesAdaptersOnly
#include "trainer/model_stage.h"

namespace zen {
namespace {

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

}  // namespace

absl::Status OpenRank(TrainState& s, const WorldInfo& world) {
  const Recipe& r = s.recipe;
  ZEN_RETURN_IF_ERROR(CheckLayout(r, world.size).status());
  ZEN_ASSIGN_OR_RETURN(s.device, ChooseDevice(r.train, world));
  s.world = OpenWorld(r, world, s.device);
  SetLogRank(static_cast<int>(s.world->rank()));
  ZEN_ASSIGN_OR_RETURN(s.grid, Grid::Build(r, *s.world));
  return absl::OkStatus();
}

absl::Status BuildModel(TrainState& s) {
  const Recipe& r = s.recipe;
  // The same seed on every rank: each draws the full initial weights' stream and keeps its slice.
  torch::manual_seed(r.train.seed);
  const ModelGroups groups = s.grid->GroupsForModel();
  const TpGroup& tp = groups.tp;
  const Layout& layout = s.grid->layout();
  ZEN_ASSIGN_OR_RETURN(s.schedule, ParseSchedule(r.parallel.schedule));
  ZEN_ASSIGN_OR_RETURN(s.model, MakeQwen3(r.model, groups, ChooseStage(r, layout, s.grid->coords().pp), r.moe));
  s.model->set_layer_runner(LayerRunner(RecomputePolicyFor(r.train)));  // docs/memory.md
  s.model->set_loss_chunk_tokens(r.train.loss_chunk_tokens);
  // Stored in train.param_dtype before any weights are loaded: the base goes from its file straight into bf16.
  ApplyParamStorage(*s.model, ParamStorageDtype(r.train.param_dtype), /*frozen_too=*/r.lora.enabled);
  if (!r.model.checkpoint.empty()) ZEN_RETURN_IF_ERROR(LoadHfWeights(r.model.checkpoint, *s.model, tp));
  if (SavesAdaptersOnly(r)) { ZEN_ASSIGN_OR_RETURN(s.base_files, FingerprintHfFolder(r.model.checkpoint)); }
  if (r.lora.enabled) ZEN_RETURN_IF_ERROR(ApplyLora(*s.model, r.lora, /*whole_model=*/layout.pp == 1).status());
  // A PEFT adapter to start from (a checkpoint to resume from replaces it later: LoadTrainingCheckpoint).
  if (!r.model.adapter.empty()) ZEN_RETURN_IF_ERROR(LoadPeftAdapter(r.model.adapter, *s.model, r.model, r.lora, tp));
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
  const auto infos = ParamInfos(*s.model);
  std::vector<std::pair<std::string, torch::Tensor>> shared, experts;
  std::vector<torch::Tensor> shared_tensors, expert_tensors;
  for (const auto& item : s.trainable) {
    const bool expert = infos.at(item.first).expert;
    (expert ? expert_tensors : shared_tensors).push_back(item.second);
    if (s.tied_embedding.defined() && s.model->stage().has_head && item.second.is_same(s.tied_embedding)) continue;
    (expert ? experts : shared).push_back(item);
  }
  s.tp_params = GroupByTpSplit(shared, infos);
  s.expert_tp_params = GroupByTpSplit(experts, infos);
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

}  // namespace zen
