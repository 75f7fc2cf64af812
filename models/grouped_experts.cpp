#include "models/grouped_experts.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include <ATen/autocast_mode.h>

namespace zen {
namespace {

// Whether at::_grouped_mm runs (forward and backward) for this device type and dtype in this build.
bool GroupedMmRuns(const torch::Device& device, torch::ScalarType dtype) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, bool> known;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(static_cast<int>(device.type()), static_cast<int>(dtype));
  auto it = known.find(key);
  if (it != known.end()) return it->second;
  bool runs = true;
  try {
    torch::AutoGradMode grad(true);
    const auto options = torch::TensorOptions().dtype(dtype).device(device);
    // Constant inputs: the probe must not draw from torch's generator (LoRA dropout and recomputation
    // rely on its stream being the same with and without the probe's first call).
    torch::Tensor x = torch::ones({5, 16}, options).requires_grad_(true);
    torch::Tensor w = torch::ones({2, 16, 16}, options).requires_grad_(true);
    torch::Tensor offs = torch::tensor({2, 5}, torch::TensorOptions().dtype(torch::kInt).device(device));
    torch::Tensor y = at::_grouped_mm(x, w.transpose(1, 2), offs);
    (y * torch::ones_like(y)).sum().backward();
  } catch (const std::exception&) {
    runs = false;
  }
  known[key] = runs;
  return runs;
}

// at::_grouped_mm's CPU and CUDA kernels want every stride a multiple of 16 bytes.
bool Aligned(int64_t width, torch::ScalarType dtype) {
  return (width * static_cast<int64_t>(c10::elementSize(dtype))) % 16 == 0;
}

// One bmm over rows padded per expert to the most rows any expert has.
torch::Tensor PaddedBmm(const torch::Tensor& x, const torch::Tensor& w, const std::vector<int64_t>& rows_per_expert) {
  const int64_t experts = w.size(0);
  const int64_t most = std::max<int64_t>(*std::max_element(rows_per_expert.begin(), rows_per_expert.end()), 1);
  // Row r of expert e goes to padded row e * most + (r - first row of e).
  std::vector<int64_t> slots;
  slots.reserve(x.size(0));
  for (int64_t e = 0; e < experts; ++e) {
    for (int64_t i = 0; i < rows_per_expert[e]; ++i) slots.push_back(e * most + i);
  }
  torch::Tensor index = torch::tensor(slots, torch::TensorOptions().dtype(torch::kLong)).to(x.device());
  torch::Tensor padded = torch::zeros({experts * most, x.size(1)}, x.options()).index_copy(0, index, x);
  torch::Tensor out = torch::bmm(padded.view({experts, most, x.size(1)}), w.transpose(1, 2));  // (E, most, out)
  return out.reshape({experts * most, w.size(1)}).index_select(0, index);
}

// The (E, out, in) stack of one projection's weights (or adapter tensors) over the experts.
template <typename Pick>
torch::Tensor Stack(const std::vector<Qwen3Mlp>& experts, Pick pick) {
  std::vector<torch::Tensor> parts;
  parts.reserve(experts.size());
  for (const Qwen3Mlp& e : experts) parts.push_back(pick(e));
  return torch::stack(parts);
}

// x's LoRA term for one projection: s * dropout(x) A_e^T B_e^T per expert block, or undefined without adapters.
torch::Tensor GroupedLoraTerm(const std::vector<Qwen3Mlp>& experts, const ParallelLinearBase& (*layer)(const Qwen3Mlp&),
                              const torch::Tensor& x, const std::vector<int64_t>& rows_per_expert, bool training) {
  const ParallelLinearBase& first = layer(experts.front());
  if (!first.HasLora()) return torch::Tensor();
  const LoraAdapter& lora = first.lora();
  torch::Tensor h = lora.dropout > 0 ? torch::dropout(x, lora.dropout, training) : x;
  torch::Tensor a = Stack(experts, [&](const Qwen3Mlp& e) { return layer(e).lora_A; });  // (E, r, in)
  torch::Tensor b = Stack(experts, [&](const Qwen3Mlp& e) { return layer(e).lora_B; });  // (E, out, r)
  return GroupedLinear(GroupedLinear(h, a, rows_per_expert), b, rows_per_expert) * lora.scale;
}

const ParallelLinearBase& GateOf(const Qwen3Mlp& e) { return *e->gate_proj; }
const ParallelLinearBase& UpOf(const Qwen3Mlp& e) { return *e->up_proj; }
const ParallelLinearBase& DownOf(const Qwen3Mlp& e) { return *e->down_proj; }

bool SameAdapter(const LoraAdapter& a, const LoraAdapter& b) {
  return a.rank == b.rank && a.scale == b.scale && a.dropout == b.dropout;
}

}  // namespace

torch::Tensor GroupedLinear(const torch::Tensor& x_in, const torch::Tensor& w_in,
                            const std::vector<int64_t>& rows_per_expert) {
  // In the dtype a linear would compute in: autocast's (bf16 runs) or x's. at::_grouped_mm has no
  // autocast rule of its own, so the cast is made here.
  const c10::DeviceType device = x_in.device().type();
  const torch::ScalarType dtype =
      at::autocast::is_autocast_enabled(device) ? at::autocast::get_autocast_dtype(device) : x_in.scalar_type();
  const torch::Tensor x = x_in.to(dtype), w = w_in.to(dtype);
  if (Aligned(w.size(1), dtype) && Aligned(w.size(2), dtype) && GroupedMmRuns(x.device(), dtype)) {
    std::vector<int32_t> ends(rows_per_expert.size());
    int64_t end = 0;
    for (size_t e = 0; e < rows_per_expert.size(); ++e) ends[e] = static_cast<int32_t>(end += rows_per_expert[e]);
    torch::Tensor offs = torch::tensor(ends, torch::TensorOptions().dtype(torch::kInt)).to(x.device());
    return at::_grouped_mm(x.contiguous(), w.transpose(1, 2), offs);
  }
  return PaddedBmm(x, w, rows_per_expert);
}

bool CanGroupExperts(const std::vector<Qwen3Mlp>& experts) {
  if (experts.empty()) return false;
  for (auto layer : {&GateOf, &UpOf, &DownOf}) {
    const ParallelLinearBase& first = layer(experts.front());
    for (const Qwen3Mlp& e : experts) {
      const ParallelLinearBase& l = layer(e);
      if (l.bias.defined() || !SameAdapter(l.lora(), first.lora())) return false;
      if (l.weight.sizes() != first.weight.sizes()) return false;
    }
  }
  return true;
}

torch::Tensor RunGroupedExperts(const std::vector<Qwen3Mlp>& experts, const torch::Tensor& rows,
                                const std::vector<int64_t>& rows_per_expert, bool training) {
  const int64_t ffn = experts.front()->gate_proj->weight.size(0);
  // [gate_e; up_e] per expert: (E, 2 ffn, C), one grouped GEMM for both.
  std::vector<torch::Tensor> gate_up;
  for (const Qwen3Mlp& e : experts) {
    gate_up.push_back(e->gate_proj->weight);
    gate_up.push_back(e->up_proj->weight);
  }
  torch::Tensor w1 = torch::cat(gate_up).view({static_cast<int64_t>(experts.size()), 2 * ffn, -1});
  torch::Tensor both = GroupedLinear(rows, w1, rows_per_expert);  // (R, 2 ffn)
  torch::Tensor gate = both.narrow(1, 0, ffn), up = both.narrow(1, ffn, ffn);
  if (torch::Tensor d = GroupedLoraTerm(experts, &GateOf, rows, rows_per_expert, training); d.defined()) gate = gate + d;
  if (torch::Tensor d = GroupedLoraTerm(experts, &UpOf, rows, rows_per_expert, training); d.defined()) up = up + d;
  torch::Tensor h = torch::silu(gate) * up;  // (R, ffn)
  torch::Tensor w2 = Stack(experts, [](const Qwen3Mlp& e) { return e->down_proj->weight; });  // (E, C, ffn)
  torch::Tensor y = GroupedLinear(h, w2, rows_per_expert);
  if (torch::Tensor d = GroupedLoraTerm(experts, &DownOf, h, rows_per_expert, training); d.defined()) y = y + d;
  return y;
}

}  // namespace zen
