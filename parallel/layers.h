// Megatron-style tensor-parallel layers. Each rank holds a slice of the full weight; with a group of
// size 1 every layer is the plain layer, so a model is written once from these.
//   ColumnParallelLinear: W[out_begin:out_end, :]  x: (..., in)      -> y: (..., out/tp) (or gathered)
//   RowParallelLinear:    W[:, in_begin:in_end]    x: (..., in/tp)   -> y: (..., out), summed over ranks
//   VocabParallelEmbedding: E[v_begin:v_end, :]    tokens: (...)     -> (..., hidden), summed over ranks
// Under sequence parallelism (TpGroup::sequence_parallel) what lies outside the layers is split along the
// sequence: a column-parallel linear takes x: (..., T/tp, in) and all-gathers it, a row-parallel one and the
// embedding reduce-scatter their sum to (..., T/tp, out), and the tied head gathers like a column-parallel
// linear, so its logits cover the whole sequence.
// The linears may carry a bias (Qwen3 has none; the Omni encoders do: split with the output rows of a
// column-parallel linear, added once after the sum of a row-parallel one) and a LoRA adapter, applied
// inside forward so that the sharded result equals the unsharded y = x W^T + b + scale * B A dropout(x).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "parallel/param_info.h"  // defines: ParamModule, ParamInfo
#include "parallel/tp_group.h"    // defines: TpGroup

namespace zen {

// A low-rank adapter (LoRA as PEFT computes it). Its tensors are the layer's "lora_A" / "lora_B".
struct LoraAdapter {
  int64_t rank = 0;      // 0 = no adapter
  double scale = 1.0;    // alpha / rank
  double dropout = 0.0;  // on the adapter's input, training only
};

// What the column- and row-parallel linears share: this rank's weight and an optional adapter.
// Each parameter's ParamInfo says how it is split and whether its gradient is partial over tp:
//   column-parallel: weight, bias and lora_B split on dim 0; lora_A whole, its gradient partial over tp
//   row-parallel:    weight and lora_A split on dim 1; bias and lora_B whole, lora_B's gradient partial
// A layer of a replicated group (TpGroup::replicated: the MoE router and experts) splits nothing and has
// no partial gradients.
class ParallelLinearBase : public ParamModule {
 public:
  // Attaches a fresh adapter: A kaiming-uniform(a=sqrt(5)) drawn over the FULL (rank, in) matrix and
  // sliced like the input dim, B zeros, so the output is unchanged and every layout draws the same A.
  // The adapter's tensors require grad; `generator` (CPU) defaults to torch's global one.
  void AttachLora(int64_t rank, double scale, double dropout,
                  std::optional<at::Generator> generator = std::nullopt);
  // Folds scale * B A into the weight and removes the adapter's parameters.
  void MergeLora();
  bool HasLora() const { return lora_.rank > 0; }
  const LoraAdapter& lora() const { return lora_; }

  int64_t in_features() const { return in_; }  // full, unsharded widths
  int64_t out_features() const { return out_; }

  torch::Tensor weight;  // (out_local, in_local)
  torch::Tensor lora_A;  // (rank, in_local), undefined without an adapter
  torch::Tensor lora_B;  // (out_local, rank)
  torch::Tensor bias;    // (out_local) column-parallel, (out) row-parallel; undefined without a bias

 protected:
  // weight_split_dim: 0 = output rows are split (column-parallel), 1 = input columns (row-parallel).
  ParallelLinearBase(int64_t in, int64_t out, int64_t weight_split_dim, const TpGroup& tp, bool bias);
  // x: (..., in_local) -> (..., out_local): this rank's x W^T plus its adapter term. A column-parallel
  // linear under sequence parallelism takes x: (..., T/tp, in) and gathers the sequence in each product.
  torch::Tensor LocalForward(const torch::Tensor& x);

  TpGroup tp_;
  bool gathers_sequence_;  // column-parallel under sequence parallelism: x arrives as its sequence shard

 private:
  torch::Tensor InputLinear(const torch::Tensor& x, const torch::Tensor& w);  // x w^T, gathering if needed

  int64_t in_, out_;
  int64_t weight_split_dim_;
  LoraAdapter lora_;
};

class ColumnParallelLinearImpl : public ParallelLinearBase {
 public:
  // gather_output: all-gather the (..., out/tp) shards into (..., out).
  ColumnParallelLinearImpl(int64_t in, int64_t out, const TpGroup& tp, bool gather_output = false,
                           bool bias = false);
  // x: (..., in) -> (..., out/tp), or (..., out) with gather_output.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool gather_output_;
};
TORCH_MODULE(ColumnParallelLinear);

class RowParallelLinearImpl : public ParallelLinearBase {
 public:
  // input_is_parallel: x arrives already split on its last dim (the output of a column-parallel layer).
  RowParallelLinearImpl(int64_t in, int64_t out, const TpGroup& tp, bool input_is_parallel = true,
                        bool bias = false);
  // x: (..., in/tp) (or (..., in) when not input_is_parallel) -> (..., out), summed across the group.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool input_is_parallel_;
};
TORCH_MODULE(RowParallelLinear);

class VocabParallelEmbeddingImpl : public ParamModule {
 public:
  VocabParallelEmbeddingImpl(int64_t vocab, int64_t hidden, const TpGroup& tp);
  // tokens: (...) int64 -> (..., hidden); rows outside this rank's slice contribute zeros to the sum.
  torch::Tensor forward(const torch::Tensor& tokens);
  // The tied output head: hidden (..., hidden) -> logits (..., vocab/tp) over this rank's vocab slice.
  torch::Tensor Unembed(const torch::Tensor& hidden);

  torch::Tensor weight;  // (vocab/tp, hidden)

 private:
  TpGroup tp_;
  int64_t vocab_;
};
TORCH_MODULE(VocabParallelEmbedding);

// While alive, the layers constructed on this thread leave their weights uninitialised (torch::empty)
// instead of drawing N(0, 0.02) from torch's global generator: for a model that sets every parameter
// itself right after construction (models/init.h: InitParameters) and so draws nothing layout-dependent.
class SkipLayerInit {
 public:
  SkipLayerInit();
  ~SkipLayerInit();
  SkipLayerInit(const SkipLayerInit&) = delete;
  SkipLayerInit& operator=(const SkipLayerInit&) = delete;

 private:
  bool previous_;
};

// The sum (not the mean: the trainer divides by the global token count) of the next-token cross
// entropies, computed in fp32 without gathering the vocab.
// logits: (N, vocab/tp) this rank's slice; labels: (N) int64 global ids, kIgnoreLabel = no loss.
// Returns an fp32 scalar, the same on every rank of the group.
torch::Tensor VocabParallelCrossEntropySum(const torch::Tensor& logits, const torch::Tensor& labels,
                                           const TpGroup& tp);

// For every parameter of `model` (its full dotted name), the dim split across the tensor-parallel group,
// or -1 where each rank holds the whole tensor: ParamInfo::split_dim, as the modules declared it.
std::map<std::string, int64_t> TpSplitDims(const torch::nn::Module& model);

// This rank's slice of `full` along `dim` (-1 = the whole tensor).
torch::Tensor TpShard(const torch::Tensor& full, int64_t dim, const TpGroup& tp);

}  // namespace zen
