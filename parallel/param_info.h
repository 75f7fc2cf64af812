// What the rest of zen needs to know about a parameter besides its values, declared once by the module
// that registers it (Megatron sets attributes such as `partition_dim` and `sequence_parallel` on the
// parameter itself). Splitting (TpSplitDims), the gradient rules (parallel/tp_gradients.h), the initial
// values (models/init.h), checkpoint slices, Hugging Face loading, the gradient norm and the optimizer all
// read it, so none of them guesses from a parameter's name or its module's type.
//
// Where it lives: a map (local parameter name -> ParamInfo) owned by each ParamModule, collected by the
// same named_modules walk that names the parameters (ParamInfos). Not a registry keyed by tensor or
// module address: the map is a plain member, so torch's Cloneable::clone copies it with the module; a
// LoRA adapter attached later adds its own entries beside the weight's (and MergeLora removes them);
// Module::to(device, dtype) keeps names; and an entry is found under the parameter's full dotted name
// whatever tree the module is placed in, with nothing to go stale when a module is freed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace zen {

// How models/init.h sets a parameter's first values.
enum class InitRule {
  kNormal,  // N(0, std) drawn at the full (unsplit) shape from the parameter's own generator, then sliced
  kZero,    // biases, LayerNorm shifts, the Omni cross-attention gates
  kOne,     // RMSNorm and LayerNorm scales
  kKeep,    // what the module computed at construction (Whisper's sinusoids, LoRA factors)
};

// Groups of ranks over which a gradient is a partial sum (each rank saw part of the computation that
// uses the parameter) and must be added up before the update. cp joins when context parallelism does.
struct GroupSet {
  bool tp = false;
};

struct ParamInfo {
  int64_t split_dim = -1;      // the dim cut across the tensor-parallel group; -1 = whole on every rank
  GroupSet grad_partial_over;  // e.g. {tp}: per-head norms, the LoRA factor a rank holds whole beside a split one
  InitRule init = InitRule::kNormal;
  // A dtype the parameter keeps whatever the run's storage precision (a norm or router kept in fp32 under
  // bf16 storage); nullopt = the run's. The optimizer keeps an fp32 master for whatever is stored lower.
  std::optional<torch::ScalarType> storage_dtype;
  bool expert = false;   // a routed expert's: differs across the expert group, repeats over expert-data-parallel
  bool adapter = false;  // a LoRA factor: saved in PEFT files, not with the base model's weights
};

// A torch module whose parameters each carry a ParamInfo. Modules register parameters through
// RegisterParameter, never torch's register_parameter, so no parameter goes without its declaration.
class ParamModule : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;

  // torch's register_parameter(name, tensor, requires_grad), plus `info`.
  torch::Tensor& RegisterParameter(const std::string& name, torch::Tensor tensor, ParamInfo info,
                                   bool requires_grad = true);
  // Removes parameter `name` and its info (LoRA merged into the weight).
  void RemoveParameter(const std::string& name);
  // The info declared for this module's own parameter `name`.
  const ParamInfo& param_info(const std::string& name) const;
  // Local parameter name -> info, for this module's own parameters.
  const std::map<std::string, ParamInfo>& param_infos() const { return infos_; }
  // Every parameter this module holds, and those it registers later, is a routed expert's.
  void MarkExpert();
  // Every whole (split_dim -1), non-expert parameter this module holds or registers later has a gradient
  // partial over tp: the module runs on this tp rank's share of the tokens.
  void MarkTokenShared();

 private:
  std::map<std::string, ParamInfo> infos_;
  bool expert_ = false;
  bool token_shared_ = false;
};

// For every parameter of `model` (its full dotted name, as named_parameters gives it), its ParamInfo.
// A parameter registered by a module that is not a ParamModule gets ParamInfo{} (whole, drawn
// N(0, std)); UndeclaredParameters lists those.
std::map<std::string, ParamInfo> ParamInfos(const torch::nn::Module& model);
std::vector<std::string> UndeclaredParameters(const torch::nn::Module& model);

// Marks every parameter under `module` (itself included) as a routed expert's: the MoE block's experts.
void MarkExperts(torch::nn::Module& module);

// ParamModule::MarkTokenShared on every module under `module` (itself included): a part that each
// tensor-parallel rank runs on its own share of the tokens (the norms under sequence parallelism, the MoE
// router), so its whole parameters' gradients are summed over tp before the update. Routed experts are
// left out: the expert-data-parallel group, which holds every rank with the same experts, sums theirs.
void MarkTokenShared(torch::nn::Module& module);

}  // namespace zen
