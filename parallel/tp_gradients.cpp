#include "parallel/tp_gradients.h"

namespace zen {
namespace {

double SquaredNorm(const std::vector<torch::Tensor>& params) {
  double sum = 0;
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) sum += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  }
  return sum;
}

}  // namespace

TpParamGroups GroupByTpSplit(const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                             const std::map<std::string, ParamInfo>& infos) {
  TpParamGroups groups;
  for (const auto& [name, param] : trainable) {
    auto it = infos.find(name);
    const ParamInfo info = it == infos.end() ? ParamInfo{} : it->second;
    if (info.split_dim >= 0) {
      groups.sharded.push_back(param);
      continue;
    }
    groups.replicated.push_back(param);
    if (info.grad_partial_over.tp) groups.partial.push_back(param);
  }
  return groups;
}

void AllReducePartialGradients(const TpParamGroups& groups, Communicator& tp) {
  if (tp.size() == 1) return;
  for (const torch::Tensor& p : groups.partial) {
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.mutable_grad();
    tp.AllReduceSum(g);
  }
}

double LocalSquaredGradNorm(const TpParamGroups& groups, int64_t tp_size) {
  return SquaredNorm(groups.sharded) + SquaredNorm(groups.replicated) / static_cast<double>(tp_size);
}

}  // namespace zen
