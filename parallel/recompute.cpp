#include "parallel/recompute.h"

#include <ATen/CPUGeneratorImpl.h>   // defines: at::detail::getDefaultCPUGenerator
#include <ATen/autocast_mode.h>      // defines: at::autocast::{is,set}_autocast_{enabled,dtype}
#include <torch/csrc/autograd/function.h>         // defines: Node, collect_next_edges
#include <torch/csrc/autograd/functions/utils.h>  // defines: set_history

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "parallel/context_parallel.h"  // defines: ActiveContextGroup, GatherContext

namespace zen {
namespace {

thread_local int recompute_depth = 0;
thread_local bool selective_recompute = false;

// The default generators' states: CPU always, plus `device`'s when it is a CUDA device.
class RngState {
 public:
  explicit RngState(const torch::Device& device)
      : cpu_(Get(at::detail::getDefaultCPUGenerator())) {
    if (device.is_cuda()) cuda_.emplace(device, Get(at::globalContext().defaultGenerator(device)));
  }
  // Makes this the generators' state.
  void Set() const {
    Put(at::detail::getDefaultCPUGenerator(), cpu_);
    if (cuda_) Put(at::globalContext().defaultGenerator(cuda_->first), cuda_->second);
  }

 private:
  static torch::Tensor Get(at::Generator gen) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
  }
  static void Put(at::Generator gen, const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  }
  torch::Tensor cpu_;
  std::optional<std::pair<torch::Device, torch::Tensor>> cuda_;
};

// Autocast's state (enabled, dtype) for the device types the trainer uses.
class AutocastState {
 public:
  AutocastState() {
    for (size_t i = 0; i < kTypes.size(); ++i) {
      enabled_[i] = at::autocast::is_autocast_enabled(kTypes[i]);
      dtype_[i] = at::autocast::get_autocast_dtype(kTypes[i]);
    }
  }
  // Makes this autocast's state.
  void Set() const {
    for (size_t i = 0; i < kTypes.size(); ++i) {
      at::autocast::set_autocast_enabled(kTypes[i], enabled_[i]);
      at::autocast::set_autocast_dtype(kTypes[i], dtype_[i]);
    }
  }
  bool AnyEnabled() const { return enabled_[0] || enabled_[1]; }

 private:
  static constexpr std::array<at::DeviceType, 2> kTypes = {at::kCPU, at::kCUDA};
  std::array<bool, 2> enabled_{};
  std::array<at::ScalarType, 2> dtype_{};
};

// Sets the forward's RNG and autocast state and marks the thread as recomputing; puts the caller's back.
class ReplayScope {
 public:
  ReplayScope(const RngState& rng, const AutocastState& autocast, const torch::Device& device)
      : caller_rng_(device), forward_autocast_(autocast) {
    rng.Set();
    autocast.Set();
    ++recompute_depth;
  }
  ~ReplayScope() {
    --recompute_depth;
    caller_autocast_.Set();
    // Casts cached under the forward's autocast must not outlive it when the caller had none.
    if (forward_autocast_.AnyEnabled() && !caller_autocast_.AnyEnabled()) at::autocast::clear_cache();
    caller_rng_.Set();
  }
  ReplayScope(const ReplayScope&) = delete;
  ReplayScope& operator=(const ReplayScope&) = delete;

 private:
  RngState caller_rng_;
  AutocastState caller_autocast_;
  const AutocastState& forward_autocast_;
};

// The autograd node of one Checkpoint: its next edges are the inputs' then the params' (those requiring
// grad). apply() re-runs fn and returns their gradients in that order.
class RecomputeBackward : public torch::autograd::Node {
 public:
  RecomputeBackward(RecomputeFn fn, const std::vector<torch::Tensor>& inputs, std::vector<torch::Tensor> params,
                    const torch::Device& device)
      : fn_(std::move(fn)), params_(std::move(params)), device_(device), rng_(device) {
    for (const torch::Tensor& t : inputs) {
      requires_grad_.push_back(t.requires_grad());
      versions_.push_back(t._version());
      saved_.push_back(t.detach());
    }
  }

  std::string name() const override { return "zen::RecomputeBackward"; }
  void release_variables() override {
    saved_.clear();
    params_.clear();
    fn_ = nullptr;
  }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    TORCH_CHECK(fn_, "a recomputed function's backward ran twice (retain_graph is not supported)");
    std::vector<torch::Tensor> leaves;  // the re-run's inputs
    std::vector<torch::Tensor> targets;  // what gradients are asked for, in next-edge order
    for (size_t i = 0; i < saved_.size(); ++i) {
      TORCH_CHECK(saved_[i]._version() == versions_[i],
                  "an input of a recomputed function was modified in place after its forward");
      leaves.push_back(saved_[i].detach().requires_grad_(requires_grad_[i]));
      if (requires_grad_[i]) targets.push_back(leaves.back());
    }
    for (const torch::Tensor& p : params_) targets.push_back(p);
    torch::autograd::variable_list out_grads(targets.size());
    if (!grads[0].defined()) return out_grads;
    torch::Tensor out;
    {
      ReplayScope replay(rng_, autocast_, device_);
      torch::AutoGradMode grad_on(true);
      out = fn_(leaves);
    }
    if (!out.requires_grad()) return out_grads;
    auto computed = torch::autograd::grad({out}, targets, {grads[0]}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t i = 0; i < computed.size(); ++i) out_grads[i] = computed[i];
    return out_grads;
  }

 private:
  RecomputeFn fn_;
  std::vector<torch::Tensor> params_;
  torch::Device device_;
  RngState rng_;  // recorded before fn's forward
  AutocastState autocast_;
  std::vector<torch::Tensor> saved_;
  std::vector<bool> requires_grad_;
  std::vector<int64_t> versions_;
};

bool AnyRequiresGrad(const std::vector<torch::Tensor>& tensors) {
  for (const torch::Tensor& t : tensors) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

}  // namespace

torch::Tensor Checkpoint(const RecomputeFn& fn, const std::vector<torch::Tensor>& inputs,
                         const std::vector<torch::Tensor>& params) {
  TORCH_CHECK(!inputs.empty(), "Checkpoint needs at least one input");
  if (!torch::GradMode::is_enabled() || (!AnyRequiresGrad(inputs) && !AnyRequiresGrad(params))) return fn(inputs);
  std::vector<torch::Tensor> trainable;
  for (const torch::Tensor& p : params) {
    if (p.defined() && p.requires_grad()) trainable.push_back(p);
  }
  // The node records the RNG state before fn draws anything.
  auto node = std::shared_ptr<RecomputeBackward>(new RecomputeBackward(fn, inputs, trainable, inputs[0].device()),
                                                 torch::autograd::deleteNode);
  torch::Tensor out;
  {
    torch::NoGradGuard no_grad;
    out = fn(inputs);
    // A view (or an input itself) cannot take a new grad_fn: give the output storage of its own.
    for (const torch::Tensor& t : inputs) {
      if (out.is_same(t)) out = out.clone();
    }
    if (out.is_view()) out = out.clone();
  }
  torch::autograd::edge_list edges;
  for (const torch::Tensor& t : inputs) {
    if (t.requires_grad()) edges.push_back(torch::autograd::impl::gradient_edge(t));
  }
  for (const torch::Tensor& p : trainable) edges.push_back(torch::autograd::impl::gradient_edge(p));
  node->set_next_edges(std::move(edges));
  torch::autograd::set_history(out, node);
  return out;
}

bool IsRecomputing() { return recompute_depth > 0; }

SelectiveRecomputeScope::SelectiveRecomputeScope() : previous_(selective_recompute) { selective_recompute = true; }
SelectiveRecomputeScope::~SelectiveRecomputeScope() { selective_recompute = previous_; }

torch::Tensor AttentionCore(const RecomputeFn& fn, const std::vector<torch::Tensor>& qkv) {
  // Under context parallelism the core reads every rank's keys and values (the mask, from LayerInputs,
  // already covers them); gathered outside the checkpoint, so a selective re-run does not gather again.
  std::vector<torch::Tensor> inputs = qkv;
  if (const CpGroup* cp = ActiveContextGroup()) {
    inputs[1] = GatherContext(qkv[1], *cp);
    inputs[2] = GatherContext(qkv[2], *cp);
  }
  return selective_recompute ? Checkpoint(fn, inputs) : fn(inputs);
}

}  // namespace zen
