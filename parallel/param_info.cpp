#include "parallel/param_info.h"

namespace zen {
namespace {

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Calls visit(prefix, module) for `model` (prefix "") and every module under it.
template <typename Visit>
void ForEachModule(const torch::nn::Module& model, Visit visit) {
  visit(std::string(), model);
  for (const auto& m : model.named_modules("", /*include_self=*/false)) visit(m.key(), *m.value());
}

}  // namespace

torch::Tensor& ParamModule::RegisterParameter(const std::string& name, torch::Tensor tensor, ParamInfo info,
                                              bool requires_grad) {
  info.expert = info.expert || expert_;
  if (token_shared_ && info.split_dim < 0 && !info.expert) info.grad_partial_over.tp = true;
  infos_[name] = info;
  return register_parameter(name, std::move(tensor), requires_grad);
}

void ParamModule::RemoveParameter(const std::string& name) {
  parameters_.erase(name);
  infos_.erase(name);
}

const ParamInfo& ParamModule::param_info(const std::string& name) const {
  auto it = infos_.find(name);
  TORCH_CHECK(it != infos_.end(), "no parameter ", name, " declared by ", this->name());
  return it->second;
}

void ParamModule::MarkExpert() {
  expert_ = true;
  for (auto& [name, info] : infos_) info.expert = true;
}

void ParamModule::MarkTokenShared() {
  token_shared_ = true;
  for (auto& [name, info] : infos_) {
    if (info.split_dim < 0 && !info.expert) info.grad_partial_over.tp = true;
  }
}

std::map<std::string, ParamInfo> ParamInfos(const torch::nn::Module& model) {
  std::map<std::string, ParamInfo> infos;
  ForEachModule(model, [&infos](const std::string& prefix, const torch::nn::Module& module) {
    const auto* declaring = dynamic_cast<const ParamModule*>(&module);
    for (const auto& p : module.named_parameters(/*recurse=*/false)) {
      const bool declared = declaring && declaring->param_infos().count(p.key()) > 0;
      infos[Join(prefix, p.key())] = declared ? declaring->param_info(p.key()) : ParamInfo{};
    }
  });
  return infos;
}

std::vector<std::string> UndeclaredParameters(const torch::nn::Module& model) {
  std::vector<std::string> names;
  ForEachModule(model, [&names](const std::string& prefix, const torch::nn::Module& module) {
    const auto* declaring = dynamic_cast<const ParamModule*>(&module);
    for (const auto& p : module.named_parameters(/*recurse=*/false)) {
      if (!declaring || declaring->param_infos().count(p.key()) == 0) names.push_back(Join(prefix, p.key()));
    }
  });
  return names;
}

namespace {

// Calls mark(param_module) on `module` and every ParamModule under it.
template <typename Mark>
void ForEachParamModule(torch::nn::Module& module, Mark mark) {
  if (auto* declaring = dynamic_cast<ParamModule*>(&module)) mark(*declaring);
  for (const auto& m : module.modules(/*include_self=*/false)) {
    if (auto* declaring = dynamic_cast<ParamModule*>(m.get())) mark(*declaring);
  }
}

}  // namespace

void MarkExperts(torch::nn::Module& module) {
  ForEachParamModule(module, [](ParamModule& m) { m.MarkExpert(); });
}

void MarkTokenShared(torch::nn::Module& module) {
  ForEachParamModule(module, [](ParamModule& m) { m.MarkTokenShared(); });
}

}  // namespace zen
