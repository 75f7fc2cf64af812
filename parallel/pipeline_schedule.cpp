#include "parallel/pipeline_schedule.h"

#include <algorithm>
#include <chrono>
#include <map>

namespace zen {
namespace {

using Clock = std::chrono::steady_clock;

// One transfer between actions: the send an action produced and the receive the next one needs, posted
// together (Megatron-Core's send_forward_recv_backward and send_backward_recv_forward).
struct Transfer {
  torch::Tensor send;  // undefined: nothing to send
  int64_t to = -1;
  torch::Tensor recv;  // undefined: nothing to receive
  int64_t from = -1;
};

class PipelineRun {
 public:
  PipelineRun(PipelineStage& stage, Communicator& pp, std::vector<int64_t> shape, torch::TensorOptions options)
      : stage_(stage), pp_(pp), shape_(std::move(shape)), options_(options) {}

  void Run(const std::vector<PipelineAction>& order) {
    Transfer pending;
    for (const PipelineAction& action : order) {
      AddReceive(action, pending);
      Exchange(pending);
      pending = Transfer{};
      if (action.op == PipelineAction::kForward) Forward(action.micro, pending);
      if (action.op == PipelineAction::kBackward) Backward(action.micro, pending);
    }
    Exchange(pending);
  }

  const PipelineStats& stats() const { return stats_; }

 private:
  bool first() const { return pp_.rank() == 0; }
  bool last() const { return pp_.rank() == pp_.size() - 1; }

  // The receive `action` needs before it can run, if any, joins the pending send.
  void AddReceive(const PipelineAction& action, Transfer& t) {
    if (action.op == PipelineAction::kForward && !first()) {
      inputs_[action.micro] = torch::empty(shape_, options_);
      t.recv = inputs_[action.micro];
      t.from = pp_.rank() - 1;
    }
    if (action.op == PipelineAction::kBackward && !last()) {
      output_grad_ = torch::empty(shape_, options_);
      t.recv = output_grad_;
      t.from = pp_.rank() + 1;
    }
  }

  void Exchange(Transfer& t) {
    if (!t.send.defined() && !t.recv.defined()) return;
    const auto start = Clock::now();
    pp_.SendRecv(t.send, t.to, t.recv, t.from);
    stats_.wait_s += std::chrono::duration<double>(Clock::now() - start).count();
  }

  void Forward(int64_t micro, Transfer& next) {
    torch::Tensor input;
    if (!first()) input = inputs_[micro].requires_grad_(true);
    torch::Tensor output = stage_.Forward(micro, input);
    outputs_[micro] = output;
    stats_.peak_in_flight = std::max<int64_t>(stats_.peak_in_flight, static_cast<int64_t>(outputs_.size()));
    if (last()) return;
    TORCH_CHECK(output.sizes().vec() == shape_, "pipeline stage ", pp_.rank(), " produced ", output.sizes(),
                ", the schedule expects ", at::IntArrayRef(shape_));
    next.send = output.detach().to(options_.dtype());
    next.to = pp_.rank() + 1;
  }

  void Backward(int64_t micro, Transfer& next) {
    torch::Tensor output = outputs_.at(micro);
    outputs_.erase(micro);
    if (output.requires_grad()) {
      if (last()) {
        output.backward();
      } else {
        output.backward(output_grad_.to(output.scalar_type()));
      }
    }
    output_grad_ = torch::Tensor();
    if (first()) return;
    torch::Tensor input = inputs_.at(micro);
    inputs_.erase(micro);
    // No gradient reaches the input when nothing before it on this stage is trainable: send zeros.
    next.send = input.grad().defined() ? input.grad() : torch::zeros(shape_, options_);
    next.to = pp_.rank() - 1;
  }

  PipelineStage& stage_;
  Communicator& pp_;
  std::vector<int64_t> shape_;
  torch::TensorOptions options_;
  std::map<int64_t, torch::Tensor> inputs_;   // micro-batch -> received hidden (requires grad)
  std::map<int64_t, torch::Tensor> outputs_;  // micro-batch -> this stage's output, until its backward
  torch::Tensor output_grad_;                 // the gradient for the backward about to run
  PipelineStats stats_;
};

}  // namespace

absl::StatusOr<ScheduleKind> ParseSchedule(const std::string& name) {
  if (name == "gpipe") return ScheduleKind::kGPipe;
  if (name == "1f1b") return ScheduleKind::kOneFOneB;
  return BadInput(absl::StrCat("parallel.schedule: unknown schedule \"", name, "\" (1f1b or gpipe)"));
}

std::vector<PipelineAction> ScheduleOrder(ScheduleKind kind, int64_t stages, int64_t stage, int64_t micro) {
  std::vector<PipelineAction> order;
  auto forward = [&](int64_t m) { order.push_back({PipelineAction::kForward, m}); };
  auto backward = [&](int64_t m) { order.push_back({PipelineAction::kBackward, m}); };
  if (kind == ScheduleKind::kGPipe) {
    for (int64_t m = 0; m < micro; ++m) forward(m);
    for (int64_t m = 0; m < micro; ++m) backward(m);
    return order;
  }
  const int64_t warmup = std::min(stages - stage - 1, micro);
  for (int64_t m = 0; m < warmup; ++m) forward(m);
  for (int64_t m = warmup; m < micro; ++m) {
    forward(m);
    backward(m - warmup);
  }
  for (int64_t m = micro - warmup; m < micro; ++m) backward(m);
  return order;
}

PipelineStats RunPipeline(ScheduleKind kind, PipelineStage& stage, Communicator& pp, int64_t micro,
                          const std::vector<int64_t>& activation_shape, torch::TensorOptions activation) {
  PipelineRun run(stage, pp, activation_shape, activation);
  run.Run(ScheduleOrder(kind, pp.size(), pp.rank(), micro));
  return run.stats();
}

void RunForwardOnly(PipelineStage& stage, Communicator& pp, const std::vector<std::vector<int64_t>>& shapes,
                    torch::TensorOptions activation) {
  torch::NoGradGuard no_grad;
  const bool first = pp.rank() == 0, last = pp.rank() == pp.size() - 1;
  for (size_t m = 0; m < shapes.size(); ++m) {
    torch::Tensor input;
    if (!first) {
      input = torch::empty(shapes[m], activation);
      pp.Recv(input, pp.rank() - 1);
    }
    torch::Tensor output = stage.Forward(static_cast<int64_t>(m), input);
    if (!last) pp.Send(output.to(activation.dtype()), pp.rank() + 1);
  }
}

}  // namespace zen
