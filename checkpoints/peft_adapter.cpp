#include "checkpoints/peft_adapter.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "checkpoints/safetensors.h"  // defines: ReadSafetensors, WriteSafetensors
#include "core/status.h"              // defines: BadInput, ZEN_ASSIGN_OR_RETURN
#include "parallel/layers.h"          // defines: ParallelLinearBase, TpShard
#include "parallel/param_info.h"      // defines: ParamInfos

namespace zen {
namespace {

namespace fs = std::filesystem;

constexpr char kPrefix[] = "base_model.model.";
constexpr char kConfigFile[] = "adapter_config.json";
constexpr char kWeightsFile[] = "adapter_model.safetensors";
constexpr char kGateUpPattern[] = R"(.*\.gate_up_proj)";
constexpr char kRouterTarget[] = "mlp.gate.weight";
constexpr char kGateUpTarget[] = "mlp.experts.gate_up_proj";
constexpr char kDownTarget[] = "mlp.experts.down_proj";

// Every linear carrying an adapter, by module name (model.layers.0.self_attn.q_proj, ...).
std::map<std::string, ParallelLinearBase*> AdaptedLinears(const torch::nn::Module& model) {
  std::map<std::string, ParallelLinearBase*> adapted;
  for (const auto& m : model.named_modules("", /*include_self=*/false)) {
    auto* linear = dynamic_cast<ParallelLinearBase*>(m.value().get());
    if (linear != nullptr && linear->HasLora()) adapted[m.key()] = linear;
  }
  return adapted;
}

// A routed expert's linear: "<block>.experts.<expert>.<projection>".
struct ExpertLinear {
  std::string block;  // model.layers.3.mlp
  int64_t expert = 0;
  std::string projection;  // gate_proj | up_proj | down_proj
};

std::optional<ExpertLinear> ParseExpertLinear(const std::string& name) {
  const std::string marker = ".experts.";
  const size_t at = name.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  const std::vector<std::string> rest = absl::StrSplit(name.substr(at + marker.size()), '.');
  int64_t expert = 0;
  if (rest.size() != 2 || !absl::SimpleAtoi(rest[0], &expert)) return std::nullopt;
  return ExpertLinear{name.substr(0, at), expert, rest[1]};
}

// How PEFT names a linear that is not a routed expert's: a target_modules leaf, or a target_parameters
// suffix (`parameter`). Empty when transformers has no such module (Zen-Omni's cross-attention).
struct PeftTarget {
  std::string name;
  bool parameter = false;
};

PeftTarget PeftTargetOf(const std::string& module, bool moe) {
  static const std::set<std::string> kAttention = {"q_proj", "k_proj", "v_proj", "o_proj"};
  static const std::set<std::string> kMlp = {"gate_proj", "up_proj", "down_proj"};
  const size_t dot = module.rfind('.');
  const std::string leaf = module.substr(dot + 1), parent = module.substr(0, dot);
  if (kAttention.count(leaf) > 0 && absl::EndsWith(parent, ".self_attn")) return {leaf, false};
  if (kMlp.count(leaf) > 0 && absl::EndsWith(parent, ".mlp")) {
    // peft would turn a gate_proj / up_proj / down_proj module target into the fused experts on a MoE model.
    return moe ? PeftTarget{absl::StrCat("mlp.", leaf, ".weight"), true} : PeftTarget{leaf, false};
  }
  if (kMlp.count(leaf) > 0 && absl::EndsWith(parent, ".mlp.shared_expert")) {
    return {absl::StrCat("mlp.shared_expert.", leaf, ".weight"), true};
  }
  if (leaf == "gate" && absl::EndsWith(parent, ".mlp")) return {kRouterTarget, true};
  // Qwen3-Next: the Gated DeltaNet's projections and the shared expert's (H -> 1) sigmoid gate are linears.
  static const std::set<std::string> kLinearAttention = {"in_proj_qkvz", "in_proj_ba", "out_proj"};
  if (kLinearAttention.count(leaf) > 0 && absl::EndsWith(parent, ".linear_attn")) return {leaf, false};
  if (leaf == "shared_expert_gate" && absl::EndsWith(parent, ".mlp")) return {leaf, false};
  return {};
}

// Per-expert factors a_e (r', in), b_e (out, r') -> ParamWrapper's A (E r', in) and B (out, r' E), column
// j E + e of B being column j of b_e.
std::pair<torch::Tensor, torch::Tensor> FuseExperts(const std::vector<torch::Tensor>& a,
                                                    const std::vector<torch::Tensor>& b) {
  return {torch::cat(a, 0), torch::stack(b, 0).permute({1, 2, 0}).reshape({b[0].size(0), -1})};
}

// The inverse for expert e of `experts`: (a_e, b_e).
std::pair<torch::Tensor, torch::Tensor> ExpertOf(const torch::Tensor& a, const torch::Tensor& b, int64_t experts,
                                                 int64_t e) {
  return {a.view({experts, -1, a.size(1)})[e], b.view({b.size(0), -1, experts}).permute({2, 0, 1})[e]};
}

using ExpertsOfBlock = std::map<std::string, std::map<int64_t, const ParallelLinearBase*>>;  // projection -> expert

// Adds the fused expert tensors of one MoE block (every expert adapted, the whole model in one process).
absl::Status AddFusedExperts(const std::string& block, const ExpertsOfBlock& linears, int64_t experts,
                             PeftAdapter& out, std::set<std::string>& target_parameters) {
  for (const auto& [projection, by_expert] : linears) {
    if (static_cast<int64_t>(by_expert.size()) != experts) {
      return absl::InternalError(absl::StrCat(block, ": ", by_expert.size(), " of ", experts, " experts carry a ",
                                              projection, " adapter; PEFT export needs the whole model"));
    }
  }
  const bool gate_up = linears.count("gate_proj") > 0, down = linears.count("down_proj") > 0;
  if (gate_up != (linears.count("up_proj") > 0)) {
    return absl::InternalError(absl::StrCat(block, ": the experts' gate_proj and up_proj are adapted together"));
  }
  std::vector<torch::Tensor> a, b;
  if (gate_up) {
    for (int64_t e = 0; e < experts; ++e) {
      const ParallelLinearBase* gate = linears.at("gate_proj").at(e);
      const ParallelLinearBase* up = linears.at("up_proj").at(e);
      a.push_back(torch::cat({gate->lora_A, up->lora_A}, 0));       // (2r, H)
      b.push_back(torch::block_diag({gate->lora_B, up->lora_B}));  // (2I, 2r)
    }
    const auto [fused_a, fused_b] = FuseExperts(a, b);
    const std::string module = absl::StrCat(kPrefix, block, down ? ".experts.base_layer" : ".experts");
    out.tensors.emplace_back(module + ".lora_A.weight", fused_a);
    out.tensors.emplace_back(module + ".lora_B.weight", fused_b);
    target_parameters.insert(kGateUpTarget);
  }
  if (down) {
    a.clear();
    b.clear();
    for (int64_t e = 0; e < experts; ++e) {
      a.push_back(linears.at("down_proj").at(e)->lora_A);  // (r, I)
      b.push_back(linears.at("down_proj").at(e)->lora_B);  // (H, r)
    }
    const auto [fused_a, fused_b] = FuseExperts(a, b);
    const std::string module = absl::StrCat(kPrefix, block, ".experts");
    out.tensors.emplace_back(module + ".lora_A.weight", fused_a);
    out.tensors.emplace_back(module + ".lora_B.weight", fused_b);
    target_parameters.insert(kDownTarget);
  }
  return absl::OkStatus();
}

absl::Status WriteJson(const std::string& path, const nlohmann::json& json) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json.dump(2) << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

// ---- Import ----

absl::StatusOr<nlohmann::json> ReadAdapterConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat("model.adapter: cannot read ", path, " (a PEFT adapter folder holds it)"));
  const auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return BadInput(absl::StrCat(path, ": not a JSON object"));
  return config;
}

double NumberOr(const nlohmann::json& config, const std::string& key, double fallback) {
  return config.contains(key) && config[key].is_number() ? config[key].get<double>() : fallback;
}

std::string StringOr(const nlohmann::json& config, const std::string& key, const std::string& fallback) {
  return config.contains(key) && config[key].is_string() ? config[key].get<std::string>() : fallback;
}

// The adapter's scale must be the recipe's: r and lora_alpha as lora.rank and lora.alpha, and no pattern but
// the fused gate_up_proj's (2r, 2 alpha), no rsLoRA, no DoRA.
absl::Status CheckAdapterConfig(const nlohmann::json& config, const LoraSpec& lora, const std::string& path) {
  if (StringOr(config, "peft_type", "") != "LORA") {
    return BadInput(absl::StrCat(path, ": peft_type ", StringOr(config, "peft_type", "(none)"),
                                 ": zen loads LoRA adapters only"));
  }
  const double r = NumberOr(config, "r", -1), alpha = NumberOr(config, "lora_alpha", -1);
  if (r != static_cast<double>(lora.rank) || alpha != lora.alpha) {
    return BadInput(absl::StrCat(path, ": r ", r, ", lora_alpha ", alpha, "; the recipe has lora.rank ", lora.rank,
                                 ", lora.alpha ", lora.alpha, " (set them to the adapter's)"));
  }
  for (const char* flag : {"use_rslora", "use_dora"}) {
    if (config.contains(flag) && config[flag].is_boolean() && config[flag].get<bool>()) return BadInput(absl::StrCat(path, ": ", flag, " is true; zen's LoRA has neither"));
  }
  const std::vector<std::pair<std::string, double>> patterns = {{"rank_pattern", 2 * r}, {"alpha_pattern", 2 * alpha}};
  for (const auto& [key, want] : patterns) {
    if (!config.contains(key) || config[key].is_null()) continue;
    for (const auto& [pattern, value] : config[key].items()) {
      if (!absl::StrContains(pattern, "gate_up_proj") || !value.is_number() || value.get<double>() != want) {
        return BadInput(absl::StrCat(path, ": ", key, " \"", pattern, "\": ", value.dump(),
                                     "; zen reads only gate_up_proj at twice r and lora_alpha (gate and up fused)"));
      }
    }
  }
  return absl::OkStatus();
}

// A module of the whole model that lives on another pipeline stage or expert rank: its tensors are that
// process's to check and load.
bool HeldElsewhere(const std::string& module, const std::set<std::string>& modules, const ModelSpec& spec) {
  const std::vector<std::string> parts = absl::StrSplit(module, '.');
  int64_t layer = -1;
  if (parts.size() < 3 || parts[0] != "model" || parts[1] != "layers" || !absl::SimpleAtoi(parts[2], &layer) ||
      layer < 0 || layer >= spec.layers) {
    return false;
  }
  if (modules.count(absl::StrCat("model.layers.", layer)) == 0) return true;
  const auto expert = ParseExpertLinear(module);
  return expert && expert->expert >= 0 && expert->expert < spec.experts &&
         modules.count(absl::StrCat(expert->block, ".experts.", expert->expert)) == 0;
}

// What an adapter file gives one adapted linear: its full factors and the file's key, for messages.
struct Factors {
  torch::Tensor a, b;  // (r, in), (out, r), whole
  std::string key;
};

class AdapterReader {
 public:
  AdapterReader(const std::string& folder, torch::nn::Module& model, const ModelSpec& spec, const LoraSpec& lora)
      : file_((fs::path(folder) / kWeightsFile).string()), spec_(spec), lora_(lora), adapted_(AdaptedLinears(model)) {
    for (const auto& m : model.named_modules("", /*include_self=*/false)) modules_.insert(m.key());
  }

  // Reads the pair (a, b) stored for `module` (a PEFT module path), into factors_.
  absl::Status Read(const std::string& module, const torch::Tensor& a, const torch::Tensor& b,
                    const std::set<std::string>& target_parameters) {
    const std::string key = absl::StrCat(kPrefix, module, ".lora_A.weight");
    for (const std::string suffix : {".experts.base_layer", ".experts"}) {
      if (!absl::EndsWith(module, suffix)) continue;
      const std::string block = module.substr(0, module.size() - suffix.size());
      const bool gate_up_targeted = target_parameters.count(kGateUpTarget) > 0 ||
                                    target_parameters.count("gate_up_proj") > 0;
      const bool down_targeted = target_parameters.count(kDownTarget) > 0 || target_parameters.count("down_proj") > 0;
      const bool gate_up = suffix == ".experts.base_layer" || !down_targeted;
      if (gate_up && !gate_up_targeted) {
        return BadInput(absl::StrCat(file_, ": ", key, ": adapter_config.json's target_parameters name no gate_up_proj"));
      }
      return ReadFusedExperts(block, gate_up, a, b, key);
    }
    return ReadLinear(module, a, b, key);
  }

  // Every adapted linear of this process has its factors.
  absl::Status CheckComplete(const std::string& folder) const {
    for (const auto& [name, linear] : adapted_) {
      if (factors_.count(name) == 0) {
        return BadInput(absl::StrCat(folder, ": no adapter tensor for ", name, ", which the recipe's lora.targets "
                                     "adapt (an adapter for other targets: set lora.targets to the adapter's)"));
      }
    }
    return absl::OkStatus();
  }

  const std::map<std::string, Factors>& factors() const { return factors_; }

 private:
  absl::Status WrongShape(const std::string& key, const torch::Tensor& got, std::vector<int64_t> want,
                          const std::string& what) const {
    return BadInput(absl::StrCat(file_, ": ", key, " has shape ", c10::str(got.sizes()), ", this model's ", what,
                                 " wants ", c10::str(c10::IntArrayRef(want)),
                                 " (an adapter for another base model, or another lora.rank)"));
  }

  absl::Status ReadLinear(const std::string& module, const torch::Tensor& a, const torch::Tensor& b,
                          const std::string& key) {
    auto it = adapted_.find(module);
    if (it == adapted_.end()) {
      if (HeldElsewhere(module, modules_, spec_)) return absl::OkStatus();
      return BadInput(absl::StrCat(file_, ": ", key, ": this model has no adapted module ", module,
                                   " (an adapter for another base model, or lora.targets that do not adapt it)"));
    }
    const ParallelLinearBase& linear = *it->second;
    const int64_t r = lora_.rank;
    if (a.sizes() != c10::IntArrayRef({r, linear.in_features()})) {
      return WrongShape(key, a, {r, linear.in_features()}, module + " lora_A");
    }
    if (b.sizes() != c10::IntArrayRef({linear.out_features(), r})) {
      return WrongShape(absl::StrCat(kPrefix, module, ".lora_B.weight"), b, {linear.out_features(), r},
                        module + " lora_B");
    }
    // The exported router has the temperature folded in (hf_export.h): logits = x (W + s B A)^T / T.
    const bool router = PeftTargetOf(module, spec_.IsMoe()).name == kRouterTarget;
    factors_[module] = {a, router ? b * spec_.router_temperature : b, key};
    return absl::OkStatus();
  }

  // One fused expert parameter of `block`: gate_up_proj (A (E 2r, H), B (2I, 2r E), block-diagonal per expert)
  // or down_proj (A (E r, I), B (H, r E)).
  absl::Status ReadFusedExperts(const std::string& block, bool gate_up, const torch::Tensor& a,
                                const torch::Tensor& b, const std::string& key) {
    const std::string projection = gate_up ? "gate_proj" : "down_proj";
    const ParallelLinearBase* any = nullptr;
    for (const auto& [name, linear] : adapted_) {
      const auto expert = ParseExpertLinear(name);
      if (expert && expert->block == block && expert->projection == projection) any = linear;
    }
    if (any == nullptr) {
      if (HeldElsewhere(block + ".experts", modules_, spec_)) return absl::OkStatus();
      return BadInput(absl::StrCat(file_, ": ", key, ": this model has no adapted ", block, ".experts.*.", projection,
                                   " (an adapter for another base model, or lora.targets that do not adapt it)"));
    }
    const int64_t experts = spec_.experts, per = gate_up ? 2 * lora_.rank : lora_.rank;
    const int64_t in = any->in_features(), out = gate_up ? 2 * any->out_features() : any->out_features();
    const std::string what = absl::StrCat(block, ".experts ", gate_up ? "gate_up_proj" : "down_proj");
    if (a.sizes() != c10::IntArrayRef({experts * per, in})) return WrongShape(key, a, {experts * per, in}, what);
    const std::string b_key = absl::StrCat(key.substr(0, key.size() - std::string("lora_A.weight").size()),
                                           "lora_B.weight");
    if (b.sizes() != c10::IntArrayRef({out, per * experts})) return WrongShape(b_key, b, {out, per * experts}, what);
    const int64_t r = lora_.rank, half = out / 2;
    for (int64_t e = 0; e < experts; ++e) {
      const std::string name = absl::StrCat(block, ".experts.", e, ".");
      if (adapted_.count(name + projection) == 0) continue;  // on another expert rank
      const auto [a_e, b_e] = ExpertOf(a, b, experts, e);
      if (!gate_up) {
        factors_[name + "down_proj"] = {a_e, b_e, key};
        continue;
      }
      const bool block_diagonal = b_e.slice(0, 0, half).slice(1, r, 2 * r).eq(0).all().item<bool>() &&
                                  b_e.slice(0, half, out).slice(1, 0, r).eq(0).all().item<bool>();
      if (!block_diagonal) {
        return BadInput(absl::StrCat(file_, ": ", b_key, ": expert ", e, "'s factor is not block-diagonal "
                                     "[[B_gate, 0], [0, B_up]]; zen adapts gate_proj and up_proj with separate factors"));
      }
      factors_[name + "gate_proj"] = {a_e.slice(0, 0, r), b_e.slice(0, 0, half).slice(1, 0, r), key};
      factors_[name + "up_proj"] = {a_e.slice(0, r, 2 * r), b_e.slice(0, half, out).slice(1, r, 2 * r), key};
    }
    return absl::OkStatus();
  }

  std::string file_;
  const ModelSpec& spec_;
  const LoraSpec& lora_;
  std::map<std::string, ParallelLinearBase*> adapted_;
  std::set<std::string> modules_;
  std::map<std::string, Factors> factors_;
};

// The file's tensors as (module -> lora_A, lora_B); BadInput naming a key that is not a PEFT LoRA tensor.
absl::StatusOr<std::map<std::string, std::pair<torch::Tensor, torch::Tensor>>> PairByModule(
    const std::map<std::string, torch::Tensor>& tensors, const std::string& file) {
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> pairs;
  for (const auto& [key, tensor] : tensors) {
    const bool is_a = absl::EndsWith(key, ".lora_A.weight"), is_b = absl::EndsWith(key, ".lora_B.weight");
    if (!absl::StartsWith(key, kPrefix) || (!is_a && !is_b) || tensor.dim() != 2) {
      return BadInput(absl::StrCat(file, ": ", key, ": not a LoRA factor (base_model.model.<module>.lora_A.weight "
                                   "or .lora_B.weight, 2-D)"));
    }
    const size_t begin = std::string(kPrefix).size();
    const std::string module = key.substr(begin, key.size() - begin - std::string(".lora_A.weight").size());
    (is_a ? pairs[module].first : pairs[module].second) = tensor.to(torch::kFloat32);
  }
  for (const auto& [module, pair] : pairs) {
    if (!pair.first.defined() || !pair.second.defined()) {
      return BadInput(absl::StrCat(file, ": ", kPrefix, module, " has lora_", pair.first.defined() ? "A" : "B",
                                   " but no lora_", pair.first.defined() ? "B" : "A"));
    }
  }
  return pairs;
}

}  // namespace

absl::StatusOr<PeftAdapter> PeftAdapterOf(const torch::nn::Module& model, const ModelSpec& spec,
                                          const LoraSpec& lora, const std::string& base_model) {
  const auto adapted = AdaptedLinears(model);
  if (adapted.empty()) return BadInput("--format peft: the model carries no LoRA adapter (the recipe has no lora)");
  PeftAdapter out;
  std::set<std::string> target_modules, target_parameters;
  std::map<std::string, ExpertsOfBlock> experts;  // block -> its expert linears
  for (const auto& [name, linear] : adapted) {
    if (const auto expert = ParseExpertLinear(name)) {
      experts[expert->block][expert->projection][expert->expert] = linear;
      continue;
    }
    const PeftTarget target = PeftTargetOf(name, spec.IsMoe());
    if (target.name.empty()) {
      return BadInput(absl::StrCat("lora.targets: ", name, " carries an adapter that no transformers model has a "
                                   "module for; keep the zen checkpoint"));
    }
    (target.parameter ? target_parameters : target_modules).insert(target.name);
    // transformers' router has no temperature: the export folds 1 / T into the router (hf_export.h).
    const bool router = target.name == kRouterTarget;
    out.tensors.emplace_back(absl::StrCat(kPrefix, name, ".lora_A.weight"), linear->lora_A);
    out.tensors.emplace_back(absl::StrCat(kPrefix, name, ".lora_B.weight"),
                             router ? linear->lora_B / spec.router_temperature : linear->lora_B);
  }
  for (const auto& [block, linears] : experts) {
    ZEN_RETURN_IF_ERROR(AddFusedExperts(block, linears, spec.experts, out, target_parameters));
  }
  out.config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model},
      {"r", lora.rank},
      {"lora_alpha", lora.alpha},
      // peft refuses dropout on a ParamWrapper; it acts in training only, so the served adapter is the same.
      {"lora_dropout", target_parameters.empty() ? lora.dropout : 0.0},
      {"target_modules", std::vector<std::string>(target_modules.begin(), target_modules.end())},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", false},
      {"use_dora", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"modules_to_save", nullptr},
  };
  if (!target_parameters.empty()) {
    out.config["target_parameters"] = std::vector<std::string>(target_parameters.begin(), target_parameters.end());
  }
  if (target_parameters.count(kGateUpTarget) > 0) {
    out.config["rank_pattern"] = {{kGateUpPattern, 2 * lora.rank}};
    out.config["alpha_pattern"] = {{kGateUpPattern, 2 * lora.alpha}};
  }
  return out;
}

absl::Status WritePeftAdapter(const std::string& folder, const PeftAdapter& adapter) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) return absl::InternalError(absl::StrCat(folder, ": cannot create: ", error.message()));
  ZEN_RETURN_IF_ERROR(
      WriteSafetensors((fs::path(folder) / kWeightsFile).string(), adapter.tensors, {{"format", "pt"}}));
  return WriteJson((fs::path(folder) / kConfigFile).string(), adapter.config);
}

absl::Status LoadPeftAdapter(const std::string& folder, torch::nn::Module& model, const ModelSpec& spec,
                             const LoraSpec& lora, const TpGroup& tp) {
  const std::string config_path = (fs::path(folder) / kConfigFile).string();
  ZEN_ASSIGN_OR_RETURN(const nlohmann::json config, ReadAdapterConfig(config_path));
  ZEN_RETURN_IF_ERROR(CheckAdapterConfig(config, lora, config_path));
  std::set<std::string> target_parameters;
  if (config.contains("target_parameters") && config["target_parameters"].is_array()) {
    for (const auto& t : config["target_parameters"]) {
      if (t.is_string()) target_parameters.insert(t.get<std::string>());
    }
  }
  const std::string file = (fs::path(folder) / kWeightsFile).string();
  if (!fs::exists(file)) return BadInput(absl::StrCat("model.adapter: ", file, " does not exist"));
  ZEN_ASSIGN_OR_RETURN(const auto tensors, ReadSafetensors(file));
  ZEN_ASSIGN_OR_RETURN(const auto pairs, PairByModule(tensors, file));
  AdapterReader reader(folder, model, spec, lora);
  for (const auto& [module, pair] : pairs) {
    ZEN_RETURN_IF_ERROR(reader.Read(module, pair.first, pair.second, target_parameters));
  }
  ZEN_RETURN_IF_ERROR(reader.CheckComplete(folder));
  // This rank's slices, as LoadHfWeights takes the base's.
  auto params = model.named_parameters();
  const auto infos = ParamInfos(model);
  torch::NoGradGuard no_grad;
  for (const auto& [module, factors] : reader.factors()) {
    const std::vector<std::pair<std::string, torch::Tensor>> both = {{".lora_A", factors.a}, {".lora_B", factors.b}};
    for (const auto& [suffix, full] : both) {
      params[module + suffix].copy_(TpShard(full, infos.at(module + suffix).split_dim, tp));
    }
  }
  return absl::OkStatus();
}

}  // namespace zen
