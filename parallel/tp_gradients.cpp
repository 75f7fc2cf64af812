#include "parallel/tp_gradients.h"

#include "absl/strings/match.h"

namespace zen {
namespace {

// A whole-on-every-rank parameter whose gradient is partial: the per-head q/k norms, and a LoRA factor
// of a layer whose weight IS split (not of a layer every rank holds whole, such as an MoE expert).
bool IsPartialWhenReplicated(const std::string& name, const std::map<std::string, int64_t>& split_dims) {
  if (absl::EndsWith(name, "q_norm.weight") || absl::EndsWith(name, "k_norm.weight")) return true;
  if (!absl::EndsWith(name, ".lora_A") && !absl::EndsWith(name, ".lora_B")) return false;
  auto weight = split_dims.find(name.substr(0, name.size() - std::string("lora_A").size()) + "weight");
  return weight != split_dims.end() && weight->second >= 0;
}

double SquaredNorm(const std::vector<torch::Tensor>& params) {
  double sum = 0;
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) sum += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  }
  return sum;
}

}  // namespace

TpParamGroups GroupByTpSplit(const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                             const std::map<std::string, int64_t>& split_dims) {
  TpParamGroups groups;
  for (const auto& [name, param] : trainable) {
    auto it = split_dims.find(name);
    const bool sharded = it != split_dims.end() && it->second >= 0;
    if (sharded) {
      groups.sharded.push_back(param);
      continue;
    }
    groups.replicated.push_back(param);
    if (IsPartialWhenReplicated(name, split_dims)) groups.partial.push_back(param);
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
