#include "trainer/adamw.h"

#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status.h"  // defines: BadInput

namespace zen {

bool DecaysWeight(const NamedParam& p) { return p.param.dim() >= 2; }

AdamW::AdamW(const std::vector<NamedParam>& params, const OptimSpec& spec) : spec_(spec) {
  for (const NamedParam& p : params) {
    if (!p.param.requires_grad()) continue;
    auto fp32 = p.param.options().dtype(torch::kFloat32).requires_grad(false);
    Slot s;
    s.decay = DecaysWeight(p);
    s.exp_avg = torch::zeros(p.param.sizes(), fp32);
    s.exp_avg_sq = torch::zeros(p.param.sizes(), fp32);
    if (p.param.scalar_type() != torch::kFloat32) s.master = p.param.detach().to(torch::kFloat32, false, /*copy=*/true);
    params_.push_back(p);
    slots_.push_back(std::move(s));
  }
}

void AdamW::Step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].param.grad().defined()) Update(params_[i].param, slots_[i], lr);
  }
  ++step_count_;
}

// The same operations, in the same order, as torch.optim.adamw._single_tensor_adamw, so results agree
// to the last bit or close to it. A lower-precision param is updated through its fp32 master.
void AdamW::Update(const torch::Tensor& param, Slot& s, double lr) {
  torch::Tensor p = s.master.defined() ? s.master : param;
  torch::Tensor g = param.grad().to(torch::kFloat32);  // no copy when already fp32
  s.steps += 1;
  if (s.decay && spec_.weight_decay != 0) p.mul_(1 - lr * spec_.weight_decay);
  s.exp_avg.lerp_(g, 1 - spec_.beta1);
  s.exp_avg_sq.mul_(spec_.beta2).addcmul_(g, g, 1 - spec_.beta2);
  const double t = static_cast<double>(s.steps);
  const double bias_correction1 = 1 - std::pow(spec_.beta1, t);
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(spec_.beta2, t));
  torch::Tensor denom = s.exp_avg_sq.sqrt();  // the one temporary
  denom.div_(bias_correction2_sqrt).add_(spec_.eps);
  p.addcdiv_(s.exp_avg, denom, -lr / bias_correction1);
  if (s.master.defined()) param.copy_(s.master);  // rounded to the storage dtype
}

void AdamW::ZeroGrad() {
  for (NamedParam& p : params_) p.param.mutable_grad() = torch::Tensor();
}

std::vector<NamedTensor> AdamW::StateTensors() const {
  std::vector<NamedTensor> out;
  out.reserve(4 * slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const std::string& name = params_[i].name;
    out.emplace_back(name + ".exp_avg", slots_[i].exp_avg);
    out.emplace_back(name + ".exp_avg_sq", slots_[i].exp_avg_sq);
    out.emplace_back(name + ".step", torch::tensor(slots_[i].steps, torch::kInt64));
    if (slots_[i].master.defined()) out.emplace_back(name + ".master", slots_[i].master);
  }
  return out;
}

// Checks every tensor before copying any, so a failed load leaves the state as it was.
absl::Status AdamW::LoadStateTensors(const std::vector<NamedTensor>& state, int64_t step_count) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  const std::vector<NamedTensor> live = StateTensors();
  if (by_name.size() != live.size()) {
    return BadInput(absl::StrCat("optimizer state has ", by_name.size(), " tensors, expected ",
                                 live.size(), " (3 per trainable parameter, and an fp32 master for each one stored "
                                 "below fp32)"));
  }
  for (const auto& [name, like] : live) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return BadInput(absl::StrCat("optimizer state lacks ", name));
    if (it->second.sizes() != like.sizes()) {
      return BadInput(absl::StrCat("optimizer state ", name, " has shape ", c10::str(it->second.sizes()),
                                   ", expected ", c10::str(like.sizes())));
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    const std::string& name = params_[i].name;
    s.exp_avg.copy_(by_name.at(name + ".exp_avg"));
    s.exp_avg_sq.copy_(by_name.at(name + ".exp_avg_sq"));
    s.steps = by_name.at(name + ".step").item<int64_t>();
    if (s.master.defined()) {
      s.master.copy_(by_name.at(name + ".master"));
      params_[i].param.detach().copy_(s.master);
    }
  }
  step_count_ = step_count;
  return absl::OkStatus();
}

}  // namespace zen
