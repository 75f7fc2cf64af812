#include "trainer/checkpointing.h"

#include <unistd.h>

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "checkpoints/base_fingerprint.h"  // defines: CheckBaseOf
#include "checkpoints/tp_slice.h"   // defines: TpSlice
#include "core/derived.h"
#include "core/log.h"
#include "models/moe.h"              // defines: MoeBlockImpl
#include "data/common/sha256.h"
#include "parallel/layers.h"        // defines: TpShard
#include "parallel/param_info.h"    // defines: ParamInfos

namespace zen {
namespace {

std::string CheckpointRoot(const Recipe& r) { return r.output_dir + "/checkpoints"; }

// Whether this rank writes a tensor of `param` cut along `split_dim` (-1: whole on every tp rank). Copies
// are written once: edp rank 0 for routed experts, tp rank 0 for other unsplit tensors, the first stage for
// a tied embedding, cp rank 0 of a replica, and dp rank 0 for what every data-parallel replica holds; under ZeRO-1 optimizer
// state lives only on its owner, which writes it.
bool Writes(const TrainState& s, const std::string& param, const ParamInfo& info, int64_t split_dim,
            bool on_every_replica) {
  const Coordinates& c = s.grid->coords();
  // A routed expert's copies are its expert-data-parallel group, which may span tp ranks (parallel/grid.h).
  if (info.expert && on_every_replica) return c.edp == 0;
  if (c.cp != 0) return false;  // a replica's cp ranks hold the same parameters and optimizer state
  if ((split_dim < 0 || s.grid->layout().tp == 1) && c.tp != 0) return false;
  if (s.tied_embedding.defined() && s.model->stage().has_head && param == "model.embed_tokens.weight") return false;
  if (!on_every_replica) return true;
  return info.expert ? c.edp == 0 : c.dp == 0;
}

// Buffers that are training state, by their names in the model: each MoE block's router_bias
// (moe.router_bias_update_rate's per-expert bias, model.layers.<l>.mlp.router_bias), found by module type.
std::vector<std::pair<std::string, torch::Tensor>> TrainingStateBuffers(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> buffers;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    const auto* block = dynamic_cast<const MoeBlockImpl*>(item.value().get());
    if (block != nullptr && block->router_bias.defined()) {
      buffers.emplace_back(item.key() + ".router_bias", block->router_bias);
    }
  }
  return buffers;
}

at::Generator CpuGenerator() { return at::detail::getDefaultCPUGenerator(); }

CheckpointLayout LayoutOf(const TrainState& s) {
  const Layout& l = s.grid->layout();
  return {s.world->size(), l.tp, l.pp, l.dp, l.ep, s.recipe.parallel.zero};
}

}  // namespace

bool SavesAdaptersOnly(const Recipe& r) { return r.lora.enabled && !r.model.checkpoint.empty(); }

std::string ModelFingerprint(const Recipe& r) {
  const ModelSpec& m = r.model;
  const std::string text = absl::StrCat(
      "layers=", m.layers, " hidden=", m.hidden, " heads=", m.heads, " kv=", m.KvHeads(), " head_dim=", m.HeadDim(),
      " ffn=", m.ffn, " vocab=", m.vocab, " tied=", m.tie_embeddings, " experts=", m.experts, " top_k=", m.top_k,
      " expert_ffn=", m.expert_ffn, " shared_ffn=", m.shared_ffn, " moe_every=", m.moe_every,
      " lora=", r.lora.enabled, " rank=", r.lora.rank, " alpha=", r.lora.alpha,
      " targets=", absl::StrJoin(r.lora.targets, ","));
  if (!m.IsMultimodal()) return Sha256Hex(text);  // text models keep the fingerprints they always had
  const VisionSpec& v = m.vision;
  const AudioSpec& a = m.audio;
  return Sha256Hex(absl::StrCat(text, " vision=", v.layers, "/", v.hidden, "/", v.heads, "/", v.ffn, "/", v.patch, "/",
                                v.image_size, "/", v.merge, " audio=", a.layers, "/", a.hidden, "/", a.heads, "/",
                                a.ffn, "/", a.mel_bins, "/", a.chunk_frames, "/", a.pool,
                                " cross_attn_every=", m.cross_attn_every));
}

namespace {

// This rank's slices of the model, optimizer and generator, and the manifest's facts.
std::vector<SavedSlice> SlicesToSave(TrainState& s) {
  const TpGroup tp = s.grid->TensorGroup();
  const auto infos = ParamInfos(*s.model);
  std::vector<SavedSlice> mine;
  const bool adapters_only = SavesAdaptersOnly(s.recipe);
  for (const auto& item : s.model->named_parameters()) {
    if (adapters_only && !item.value().requires_grad()) continue;  // the frozen base is model.checkpoint's
    const ParamInfo& info = infos.at(item.key());
    if (!Writes(s, item.key(), info, info.split_dim, /*on_every_replica=*/true)) continue;
    mine.push_back(TpSlice("model/" + item.key(), item.value(), info.split_dim, tp));
  }
  // The optimizer holds state only for the parameters this rank owns (all of them without ZeRO-1).
  const bool zero = s.recipe.parallel.zero == 1;
  for (const auto& [name, tensor] : s.optimizer->StateTensors()) {
    const std::string param = name.substr(0, name.rfind('.'));
    const ParamInfo& info = infos.at(param);
    const int64_t dim = tensor.dim() == 0 ? -1 : info.split_dim;
    if (!Writes(s, param, info, dim, /*on_every_replica=*/!zero)) continue;
    mine.push_back(TpSlice("optim/" + name, tensor, dim, tp));
  }
  // Buffers that are training state (the MoE router bias, models/moe.h): whole and the same on every rank
  // of a stage, written like a whole parameter.
  for (const auto& [name, buffer] : TrainingStateBuffers(*s.model)) {
    if (!Writes(s, name, ParamInfo{}, -1, /*on_every_replica=*/true)) continue;
    mine.push_back(TpSlice("state/" + name, buffer, -1, tp));
  }
  const torch::Tensor rng = CpuGenerator().get_state();
  mine.push_back({absl::StrCat("rng/rank-", s.world->rank()), rng, rng.sizes().vec(), -1, 0});
  return mine;
}

CheckpointInfo InfoOf(const TrainState& s, int64_t step, int64_t skipped_steps) {
  CheckpointInfo info;
  info.step = step;
  info.tokens = step * TokensPerStep(s.recipe.train);
  info.skipped_steps = skipped_steps;
  info.layout = LayoutOf(s);
  info.model_fingerprint = ModelFingerprint(s.recipe);
  info.recipe = s.recipe.path;
  info.base_files = s.base_files;
  return info;
}

}  // namespace

absl::Status SaveTrainingCheckpoint(TrainState& s, int64_t step, int64_t skipped_steps) {
  const std::vector<SavedSlice> mine = SlicesToSave(s);
  const CheckpointInfo info = InfoOf(s, step, skipped_steps);
  if (!s.recipe.checkpoint.async) {
    return SaveCheckpoint(CheckpointRoot(s.recipe), info, mine, *s.world, s.recipe.checkpoint.keep);
  }
  if (!s.async_checkpoint) s.async_checkpoint = std::make_unique<AsyncCheckpointWriter>();
  return s.async_checkpoint->Start(CheckpointRoot(s.recipe), info, mine, *s.world, s.recipe.checkpoint.keep);
}

absl::Status SaveBestCheckpoint(TrainState& s, int64_t step, int64_t skipped_steps) {
  return SaveCheckpoint(CheckpointRoot(s.recipe) + "/best", InfoOf(s, step, skipped_steps), SlicesToSave(s), *s.world,
                        /*keep=*/1);
}

absl::Status FinishCheckpoint(TrainState& s) {
  return s.async_checkpoint ? s.async_checkpoint->Finish() : absl::OkStatus();
}

absl::StatusOr<std::string> CheckpointToResume(const Recipe& r) {
  const std::string root = CheckpointRoot(r), named = r.train.resume_from;
  if (named.empty()) return LatestCheckpoint(root);
  if (!r.train.resume) return BadInput("train.resume_from: set, but train.resume=false starts afresh; drop one");
  int64_t step = -1;
  const std::string dir = absl::SimpleAtoi(named, &step) ? CheckpointDir(root, step) : named;
  const std::vector<int64_t> complete = CompleteCheckpointSteps(root);
  if (access((dir + "/" + kManifestName).c_str(), F_OK) != 0) {
    return BadInput(absl::StrCat("train.resume_from=", named, ": ", dir, " is no complete checkpoint (complete ones in ",
                                 root, ": ", complete.empty() ? "none" : "step " + absl::StrJoin(complete, ", "), ")"));
  }
  // The same override on a later run would go back to this checkpoint again, dropping what was saved since.
  if (!complete.empty() && step >= 0 && complete.back() > step) {
    Log0(absl::StrCat("zen: train.resume_from=", named, ": continuing from step ", step, ", not from the newer step ",
                      complete.back(), "; drop the override once this run has saved, or a re-run starts from step ",
                      step, " again"));
  }
  return dir;
}

absl::Status CheckSameModel(const CheckpointReader& reader, const Recipe& recipe, const std::string& advice) {
  const CheckpointManifest& m = reader.manifest();
  if (m.model_fingerprint == ModelFingerprint(recipe)) return absl::OkStatus();
  return BadInput(absl::StrCat(reader.dir(), "/", kManifestName, ": this checkpoint is of another model or LoRA "
                               "setup (saved by ", m.recipe, "); ", advice));
}

absl::Status LoadTrainingCheckpoint(TrainState& s, CheckpointReader& reader) {
  const CheckpointManifest& m = reader.manifest();
  ZEN_RETURN_IF_ERROR(CheckSameModel(reader, s.recipe, "use another output_dir or train.resume=false"));
  ZEN_RETURN_IF_ERROR(CheckBaseOf(reader, s.recipe.model.checkpoint));
  const TpGroup tp = s.grid->TensorGroup();
  const auto infos = ParamInfos(*s.model);
  torch::NoGradGuard no_grad;
  for (auto& item : s.model->named_parameters()) {
    // An adapter-only checkpoint's frozen base was loaded from model.checkpoint (BuildModel), checked above.
    if (m.AdapterOnly() && !item.value().requires_grad() && !reader.Has("model/" + item.key())) continue;
    ZEN_ASSIGN_OR_RETURN(torch::Tensor full, reader.Full("model/" + item.key()));
    torch::Tensor mine = TpShard(full, infos.at(item.key()).split_dim, tp);
    if (mine.sizes() != item.value().sizes()) {
      return BadInput(absl::StrCat(reader.dir(), ": ", item.key(), " has shape ", c10::str(full.sizes()),
                                   " in the checkpoint, which does not fit this model"));
    }
    item.value().copy_(mine);
  }
  for (auto& [name, buffer] : TrainingStateBuffers(*s.model)) {
    // A checkpoint of a run without the router bias (rate 0 then) starts it at zero.
    if (!reader.Has("state/" + name)) continue;
    ZEN_ASSIGN_OR_RETURN(torch::Tensor full, reader.Full("state/" + name));
    if (full.sizes() != buffer.sizes()) {
      return BadInput(absl::StrCat(reader.dir(), ": ", name, " has shape ", c10::str(full.sizes()),
                                   " in the checkpoint, which does not fit this model"));
    }
    buffer.copy_(full);
  }
  std::vector<NamedTensor> state;
  for (const auto& [name, like] : s.optimizer->StateTensors()) {
    const std::string param = name.substr(0, name.rfind('.'));
    ZEN_ASSIGN_OR_RETURN(torch::Tensor full, reader.Full("optim/" + name));
    state.emplace_back(name, like.dim() == 0 ? full : TpShard(full, infos.at(param).split_dim, tp));
  }
  ZEN_RETURN_IF_ERROR(Annotate(s.optimizer->LoadStateTensors(state, m.step), reader.dir()));
  const std::string rng = absl::StrCat("rng/rank-", s.world->rank());
  if (m.layout == LayoutOf(s) && reader.Has(rng)) {
    ZEN_ASSIGN_OR_RETURN(torch::Tensor state_bytes, reader.Full(rng));
    at::Generator generator = CpuGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state_bytes);
  } else if (s.world->rank() == 0) {
    Log0(absl::StrCat("zen train: resharding a checkpoint saved on ", m.layout.world, " rank(s) (tp ", m.layout.tp,
                      ", pp ", m.layout.pp, ", dp ", m.layout.dp, ", ep ", m.layout.ep,
                      "): random streams (LoRA dropout) start afresh"));
  }
  return absl::OkStatus();
}

}  // namespace zen
