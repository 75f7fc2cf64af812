#include "parallel/layers.h"

#include <cmath>

#include "data/loader/batch.h"  // defines: kIgnoreLabel
#include "parallel/communicator.h"
#include "parallel/mappings.h"  // defines: CopyTo/ReduceFrom/GatherFrom/ScatterToTensorParallelRegion

namespace zen {
namespace {

int64_t LocalSize(int64_t n, const TpGroup& tp, const char* what) {
  TORCH_CHECK(n % tp.size == 0, what, " (", n, ") is not divisible by the tensor-parallel size ", tp.size);
  return tp.ShardSize(n);
}

thread_local bool skip_layer_init = false;

// Plain-layer initialisation (HF initializer_range 0.02), unless the model sets the weights itself.
torch::Tensor InitialWeight(int64_t rows, int64_t cols) {
  auto weight = torch::empty({rows, cols});
  return skip_layer_init ? weight : weight.normal_(0.0, 0.02);
}

// A linear's parameter: split on `dim_when_split` (-1: whole on every rank), and its gradient partial over
// tp when `partial_when_whole` (the LoRA factor held whole beside a split one). A layer of a replicated
// group (the MoE router and experts) splits nothing and has no partial gradients.
ParamInfo LinearParamInfo(const TpGroup& tp, int64_t dim_when_split, bool partial_when_whole, InitRule init) {
  ParamInfo info;
  info.init = init;
  if (tp.replicated) return info;
  info.split_dim = dim_when_split;
  info.grad_partial_over.tp = partial_when_whole;
  return info;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = gather_sequence(x) W^T without keeping the gathered input: backward gathers it again, as
// Megatron-Core's linear does under sequence parallelism, so a column-parallel linear holds only its
// (..., T/tp, in) shard for the weight gradient (q, k and v would otherwise each keep a whole copy).
// x: (..., T/tp, in), w: (out_local, in) -> (..., T, out_local).
struct SequenceGatheredLinear : torch::autograd::Function<SequenceGatheredLinear> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const TpGroup& tp) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(tp.comm);
    ctx->saved_data["rank"] = tp.rank;
    ctx->saved_data["size"] = tp.size;
    ctx->save_for_backward({x, w});
    return torch::linear(GatherFromSequenceParallelRegion(x, tp), w);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    TpGroup tp;
    tp.comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    tp.rank = ctx->saved_data["rank"].toInt();
    tp.size = ctx->saved_data["size"].toInt();
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const torch::Tensor gy = grad[0];  // (..., T, out_local), in the forward's compute dtype (autocast)
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) {  // (..., T, in) partial over tp -> this rank's (..., T/tp, in) of the sum
      gx = ReduceScatterToSequenceParallelRegion(gy.matmul(w.to(gy.scalar_type())), tp).to(x.scalar_type());
    }
    if (ctx->needs_input_grad(1)) {  // (out_local, in) = gy^T x over every position of the whole sequence
      const torch::Tensor full = GatherFromSequenceParallelRegion(x, tp).to(gy.scalar_type());
      gw = gy.reshape({-1, gy.size(-1)}).t().mm(full.reshape({-1, full.size(-1)})).to(w.scalar_type());
    }
    return {gx, gw, torch::Tensor()};
  }
};

// x W^T where a tensor-parallel region starts (x copied in, or gathered along the sequence).
torch::Tensor RegionInputLinear(const torch::Tensor& x, const torch::Tensor& w, const TpGroup& tp) {
  if (tp.sequence_parallel && tp.size > 1) return SequenceGatheredLinear::apply(x, w, tp);
  return torch::linear(CopyToTensorParallelRegion(x, tp), w);
}

ParamInfo AdapterInfo(ParamInfo info) {
  info.adapter = true;
  info.init = InitRule::kKeep;  // drawn by AttachLora
  return info;
}

}  // namespace

SkipLayerInit::SkipLayerInit() : previous_(skip_layer_init) { skip_layer_init = true; }

SkipLayerInit::~SkipLayerInit() { skip_layer_init = previous_; }

ParallelLinearBase::ParallelLinearBase(int64_t in, int64_t out, int64_t weight_split_dim, const TpGroup& tp,
                                       bool bias)
    : tp_(tp),
      gathers_sequence_(weight_split_dim == 0 && tp.sequence_parallel && tp.size > 1),
      in_(in),
      out_(out),
      weight_split_dim_(weight_split_dim) {
  const int64_t out_local = weight_split_dim == 0 ? LocalSize(out, tp, "out_features") : out;
  const int64_t in_local = weight_split_dim == 1 ? LocalSize(in, tp, "in_features") : in;
  weight = RegisterParameter("weight", InitialWeight(out_local, in_local),
                             LinearParamInfo(tp, weight_split_dim, false, InitRule::kNormal));
  if (bias) {
    // Split with the output rows; a row-parallel bias is added once, after the sum.
    this->bias = RegisterParameter("bias", torch::zeros({out_local}),
                                   LinearParamInfo(tp, weight_split_dim == 0 ? 0 : -1, false, InitRule::kZero));
  }
}

void ParallelLinearBase::AttachLora(int64_t rank, double scale, double dropout,
                                    std::optional<at::Generator> generator) {
  TORCH_CHECK(!HasLora(), "this linear already carries a LoRA adapter");
  TORCH_CHECK(rank > 0, "LoRA rank must be positive, got ", rank);
  torch::NoGradGuard no_grad;
  // kaiming_uniform_(a=sqrt(5)) over fan_in = in: bound = sqrt(6 / ((1 + 5) * in)) = 1 / sqrt(in).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  auto a_full = torch::empty({rank, in_}).uniform_(-bound, bound, generator);  // (r, in)
  // A takes the input split (row-parallel), B the output split (column-parallel); the factor a rank holds
  // whole beside a split one has a partial gradient.
  const bool column = weight_split_dim_ == 0;
  ParamInfo a_info = AdapterInfo(LinearParamInfo(tp_, column ? -1 : 1, /*partial_when_whole=*/column, InitRule::kKeep));
  ParamInfo b_info = AdapterInfo(LinearParamInfo(tp_, column ? 0 : -1, /*partial_when_whole=*/!column, InitRule::kKeep));
  a_info.expert = b_info.expert = param_info("weight").expert;
  auto a = TpShard(a_full, a_info.split_dim, tp_).to(weight.options()).contiguous();
  lora_A = RegisterParameter("lora_A", a, a_info);
  lora_B = RegisterParameter("lora_B", torch::zeros({weight.size(0), rank}, weight.options()), b_info);
  lora_ = LoraAdapter{rank, scale, dropout};
}

void ParallelLinearBase::MergeLora() {
  if (!HasLora()) return;
  torch::NoGradGuard no_grad;
  // (out_local, r) x (r, in_local): the same product shards exactly like the weight.
  auto delta = torch::matmul(lora_B.to(torch::kFloat32), lora_A.to(torch::kFloat32)) * lora_.scale;
  weight.add_(delta.to(weight.dtype()));
  RemoveParameter("lora_A");
  RemoveParameter("lora_B");
  lora_A = torch::Tensor();
  lora_B = torch::Tensor();
  lora_ = LoraAdapter{};
}

torch::Tensor ParallelLinearBase::InputLinear(const torch::Tensor& x, const torch::Tensor& w) {
  return gathers_sequence_ ? SequenceGatheredLinear::apply(x, w, tp_) : torch::linear(x, w);
}

torch::Tensor ParallelLinearBase::LocalForward(const torch::Tensor& x) {
  auto y = InputLinear(x, weight);  // (..., out_local)
  if (!HasLora()) return y;
  // Under sequence parallelism the dropout mask is drawn over this rank's sequence shard.
  auto h = lora_.dropout > 0 ? torch::dropout(x, lora_.dropout, is_training()) : x;
  auto low = InputLinear(h, lora_A);                    // (..., r); a partial sum when row-parallel
  return y + torch::linear(low, lora_B) * lora_.scale;  // B's product keeps it partial, reduced with y
}

ColumnParallelLinearImpl::ColumnParallelLinearImpl(int64_t in, int64_t out, const TpGroup& tp,
                                                   bool gather_output, bool bias)
    : ParallelLinearBase(in, out, /*weight_split_dim=*/0, tp, bias), gather_output_(gather_output) {}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  // (..., out/tp); under sequence parallelism x is (..., T/tp, in) and each product gathers it.
  auto y = LocalForward(gathers_sequence_ ? x : CopyToTensorParallelRegion(x, tp_));
  if (bias.defined()) y = y + bias;                           // this rank's slice of the bias
  return gather_output_ ? GatherFromTensorParallelRegion(y, tp_) : y;
}

RowParallelLinearImpl::RowParallelLinearImpl(int64_t in, int64_t out, const TpGroup& tp,
                                             bool input_is_parallel, bool bias)
    : ParallelLinearBase(in, out, /*weight_split_dim=*/1, tp, bias), input_is_parallel_(input_is_parallel) {}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x) {
  auto x_local = input_is_parallel_ ? x : ScatterToTensorParallelRegion(x, tp_);  // (..., in/tp)
  auto y = LeaveTensorParallelRegion(LocalForward(x_local), tp_);  // (..., out), or (..., T/tp, out) under SP
  return bias.defined() ? y + bias : y;  // added once, after the sum
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(int64_t vocab, int64_t hidden, const TpGroup& tp)
    : tp_(tp), vocab_(vocab) {
  ParamInfo info;
  info.split_dim = 0;  // vocab rows
  weight = RegisterParameter("weight", InitialWeight(LocalSize(vocab, tp, "vocab"), hidden), info);
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& tokens) {
  // One rank holds every row: a plain lookup, which also rejects out-of-range ids.
  if (tp_.size == 1) return torch::embedding(weight, tokens);
  const int64_t begin = tp_.ShardBegin(vocab_);
  auto outside = tokens.lt(begin).logical_or(tokens.ge(begin + weight.size(0)));
  auto rows = torch::embedding(weight, (tokens - begin).masked_fill(outside, 0));  // (..., C)
  // (..., C); under sequence parallelism (B, T/tp, C): each rank keeps its slice of the sequence.
  return LeaveTensorParallelRegion(rows.masked_fill(outside.unsqueeze(-1), 0.0), tp_);
}

torch::Tensor VocabParallelEmbeddingImpl::Unembed(const torch::Tensor& hidden) {
  return RegionInputLinear(hidden, weight, tp_);  // (..., vocab/tp); the whole sequence under SP
}

torch::Tensor VocabParallelCrossEntropySum(const torch::Tensor& logits, const torch::Tensor& labels,
                                           const TpGroup& tp) {
  TORCH_CHECK(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0),
              "cross entropy wants logits (N, V/tp) and labels (N), got ", logits.sizes(), " and ",
              labels.sizes());
  auto z = logits.to(torch::kFloat32);  // (N, V/tp)
  const int64_t vocab_local = z.size(1);
  // log-sum-exp over the whole vocab from each rank's own: (N, 1) -> gathered (N, tp) -> (N)
  auto lse = torch::logsumexp(GatherFromTensorParallelRegion(torch::logsumexp(z, -1, true), tp), -1);
  // The label's logit lives on one rank; the others add zero.
  auto local = labels - tp.rank * vocab_local;
  auto here = local.ge(0).logical_and(local.lt(vocab_local));
  auto picked = z.gather(1, local.clamp(0, vocab_local - 1).unsqueeze(1)).squeeze(1);  // (N)
  auto target = ReduceFromTensorParallelRegion(picked.masked_fill(here.logical_not(), 0.0), tp);
  return (lse - target).masked_fill(labels.eq(kIgnoreLabel), 0.0).sum();
}

std::map<std::string, int64_t> TpSplitDims(const torch::nn::Module& model) {
  std::map<std::string, int64_t> dims;
  for (const auto& [name, info] : ParamInfos(model)) dims[name] = info.split_dim;
  return dims;
}

torch::Tensor TpShard(const torch::Tensor& full, int64_t dim, const TpGroup& tp) {
  if (dim < 0 || tp.size == 1) return full;
  const int64_t n = full.size(dim);
  LocalSize(n, tp, "a split dimension");
  return full.narrow(dim, tp.ShardBegin(n), tp.ShardSize(n));
}

}  // namespace zen
