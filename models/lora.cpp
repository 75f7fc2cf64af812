#include "models/lora.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/status.h"      // defines: BadInput, ZEN_ASSIGN_OR_RETURN
#include "models/init.h"      // defines: DrawSeed, GeneratorFor
#include "parallel/layers.h"  // defines: ParallelLinearBase

namespace zen {
namespace {

using L = LoraLinear;

struct TargetName {
  const char* name;
  std::vector<LoraLinear> kinds;
};

const std::vector<TargetName>& TargetNames() {
  // clang-format off
  static const std::vector<TargetName> names = {
      {"q", {L::kQ}},       {"q_proj", {L::kQ}},       {"k", {L::kK}},       {"k_proj", {L::kK}},
      {"v", {L::kV}},       {"v_proj", {L::kV}},       {"o", {L::kO}},       {"o_proj", {L::kO}},
      {"gate", {L::kGate}}, {"gate_proj", {L::kGate}}, {"up", {L::kUp}},     {"up_proj", {L::kUp}},
      {"down", {L::kDown}}, {"down_proj", {L::kDown}}, {"router", {L::kRouter}},
      {"experts.*.wi", {L::kExpertGate, L::kExpertUp}},
      {"wo", {L::kExpertDown}},
      {"experts.*.wo", {L::kExpertDown}},
      {"experts.*.mlp", {L::kExpertGate, L::kExpertUp, L::kExpertDown}},
      {"shared", {L::kSharedGate, L::kSharedUp, L::kSharedDown}},
      {"cross_attn", {L::kCrossQ, L::kCrossK, L::kCrossV, L::kCrossO}},
      {"in_proj_qkvz", {L::kLinearQkvz}}, {"in_proj_ba", {L::kLinearBa}}, {"out_proj", {L::kLinearOut}},
      {"shared_expert_gate", {L::kSharedExpertGate}},
  };
  // clang-format on
  return names;
}

// The end of the module path each kind sits at ('*' = any one component). Hugging Face's names
// (Qwen3-MoE: mlp.gate is the router, mlp.experts.{e}.*_proj the experts; mlp.shared_expert.*).
const char* ModulePattern(LoraLinear kind) {
  switch (kind) {
    case L::kQ: return "self_attn.q_proj";
    case L::kK: return "self_attn.k_proj";
    case L::kV: return "self_attn.v_proj";
    case L::kO: return "self_attn.o_proj";
    case L::kGate: return "mlp.gate_proj";
    case L::kUp: return "mlp.up_proj";
    case L::kDown: return "mlp.down_proj";
    case L::kRouter: return "mlp.gate";
    case L::kExpertGate: return "mlp.experts.*.gate_proj";
    case L::kExpertUp: return "mlp.experts.*.up_proj";
    case L::kExpertDown: return "mlp.experts.*.down_proj";
    case L::kSharedGate: return "mlp.shared_expert.gate_proj";
    case L::kSharedUp: return "mlp.shared_expert.up_proj";
    case L::kSharedDown: return "mlp.shared_expert.down_proj";
    case L::kCrossQ: return "cross_attn.q_proj";
    case L::kCrossK: return "cross_attn.k_proj";
    case L::kCrossV: return "cross_attn.v_proj";
    case L::kCrossO: return "cross_attn.o_proj";
    case L::kLinearQkvz: return "linear_attn.in_proj_qkvz";
    case L::kLinearBa: return "linear_attn.in_proj_ba";
    case L::kLinearOut: return "linear_attn.out_proj";
    case L::kSharedExpertGate: return "mlp.shared_expert_gate";
  }
  return "";
}

bool MatchesPattern(const std::string& module_name, const std::string& pattern) {
  const std::vector<std::string> name = absl::StrSplit(module_name, '.');
  const std::vector<std::string> want = absl::StrSplit(pattern, '.');
  if (want.size() > name.size()) return false;
  const size_t offset = name.size() - want.size();
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] != "*" && want[i] != name[offset + i]) return false;
  }
  return true;
}

bool InEncoder(const std::string& module_name) {
  return absl::StartsWith(module_name, "vision_tower.") || absl::StartsWith(module_name, "audio_tower.");
}

// Every linear of the model by its full module name; the Omni encoders' are no LoRA targets.
std::map<std::string, ParallelLinearBase*> Linears(torch::nn::Module& model) {
  std::map<std::string, ParallelLinearBase*> linears;
  for (const auto& m : model.named_modules("", /*include_self=*/false)) {
    auto* linear = dynamic_cast<ParallelLinearBase*>(m.value().get());
    if (linear != nullptr && !InEncoder(m.key())) linears[m.key()] = linear;
  }
  return linears;
}

// The gates of the cross-attention blocks `chosen` adapts: they start closed (0), so the adapters would
// get no gradient unless the gates train with them.
void UnfreezeCrossAttnGates(torch::nn::Module& model, const std::map<std::string, ParallelLinearBase*>& chosen) {
  for (auto& p : model.named_parameters()) {
    if (!absl::EndsWith(p.key(), "cross_attn.attn_gate")) continue;
    const std::string block = p.key().substr(0, p.key().size() - std::string("attn_gate").size());
    if (chosen.count(block + "q_proj") > 0 || chosen.count(block + "o_proj") > 0) p.value().set_requires_grad(true);
  }
}

absl::Status CheckLoraSpec(const LoraSpec& spec) {
  if (spec.rank <= 0) {
    return BadInput(absl::StrCat("lora.rank: expected a positive integer, got ", spec.rank));
  }
  if (spec.dropout < 0 || spec.dropout >= 1) {
    return BadInput(absl::StrCat("lora.dropout: expected a probability in [0, 1), got ", spec.dropout));
  }
  if (spec.targets.empty()) return BadInput("lora.targets: LoRA is enabled but names no module");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<LoraLinear>> ResolveLoraTarget(const std::string& target) {
  for (const auto& known : TargetNames()) {
    if (target == known.name) return known.kinds;
  }
  std::vector<std::string> names;
  for (const auto& known : TargetNames()) names.push_back(known.name);
  return BadInput(
      absl::StrCat("lora.targets: unknown target '", target, "' (known: ", absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<std::vector<LoraLinear>> ResolveLoraTargets(const std::vector<std::string>& targets) {
  std::vector<LoraLinear> kinds;
  for (const auto& target : targets) {
    ZEN_ASSIGN_OR_RETURN(std::vector<LoraLinear> more, ResolveLoraTarget(target));
    kinds.insert(kinds.end(), more.begin(), more.end());
  }
  std::sort(kinds.begin(), kinds.end());
  kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
  return kinds;
}

absl::StatusOr<int64_t> ApplyLora(torch::nn::Module& model, const LoraSpec& spec, bool whole_model) {
  if (!spec.enabled) return CountTrainableParameters(model);
  ZEN_RETURN_IF_ERROR(CheckLoraSpec(spec));
  // Match every target before changing anything, so an error leaves the model as it was.
  const auto linears = Linears(model);
  std::map<std::string, ParallelLinearBase*> chosen;
  for (const auto& target : spec.targets) {
    ZEN_ASSIGN_OR_RETURN(std::vector<LoraLinear> kinds, ResolveLoraTarget(target));
    bool matched = false;
    for (const auto& [name, linear] : linears) {
      for (LoraLinear kind : kinds) {
        if (!MatchesPattern(name, ModulePattern(kind))) continue;
        chosen[name] = linear;
        matched = true;
      }
    }
    if (!matched && whole_model)
      return BadInput(absl::StrCat("lora.targets: '", target, "' matches no module of this model"));
  }
  for (const auto& [name, linear] : chosen) {
    if (linear->HasLora()) return absl::FailedPreconditionError(absl::StrCat(name, " already carries LoRA"));
  }
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  const uint64_t seed = DrawSeed();
  for (const auto& [name, linear] : chosen) {
    linear->AttachLora(spec.rank, spec.Scale(), spec.dropout, GeneratorFor(seed, name + ".lora_A"));
  }
  UnfreezeCrossAttnGates(model, chosen);
  return CountTrainableParameters(model);
}

void MergeLora(torch::nn::Module& model) {
  for (const auto& [name, linear] : Linears(model)) linear->MergeLora();
}

int64_t CountTrainableParameters(const torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

}  // namespace zen
