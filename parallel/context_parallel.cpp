#include "parallel/context_parallel.h"

#include <vector>

#include "parallel/communicator.h"
#include "parallel/mappings.h"  // defines: GatherFromSequenceParallelRegion

namespace zen {
namespace {

thread_local const CpGroup* active_context = nullptr;

// The cp group as the sequence mappings take it: they gather and reduce-scatter dim -2 over any group.
TpGroup AsSequenceGroup(const CpGroup& cp) { return TpGroup{cp.comm, cp.rank, cp.size}; }

// Every rank's chunk indices in rank order: the global index of each gathered key, (T) int64.
torch::Tensor GatheredKeyIndices(int64_t t, int64_t size, const torch::Device& device) {
  std::vector<torch::Tensor> parts;
  for (int64_t r = 0; r < size; ++r) parts.push_back(ContextChunkIndices(t, r, size, device));
  return torch::cat(parts);
}

}  // namespace

torch::Tensor ContextChunkIndices(int64_t t, int64_t rank, int64_t size, const torch::Device& device) {
  TORCH_CHECK(t % (2 * size) == 0, "context parallelism: the sequence (", t, ") is not divisible by 2 × ", size);
  const int64_t chunk = t / (2 * size);
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  return torch::cat({torch::arange(rank * chunk, (rank + 1) * chunk, options),
                     torch::arange((2 * size - 1 - rank) * chunk, (2 * size - rank) * chunk, options)});
}

torch::Tensor TakeContextShard(const torch::Tensor& x, const CpGroup& cp) {
  if (!x.defined() || cp.size == 1) return x;
  return x.index_select(1, ContextChunkIndices(x.size(1), cp.rank, cp.size, x.device()));
}

ContextParallelScope::ContextParallelScope(const CpGroup& cp) : previous_(active_context), cp_(cp) {
  if (cp_.size > 1) active_context = &cp_;
}

ContextParallelScope::~ContextParallelScope() { active_context = previous_; }

const CpGroup* ActiveContextGroup() { return active_context; }

torch::Tensor GatherContext(const torch::Tensor& x, const CpGroup& cp) {
  // Each rank's queries read every key, so each key's gradient is partial: summed by the reduce-scatter.
  return GatherFromSequenceParallelRegion(x, AsSequenceGroup(cp), /*grad_is_partial=*/true);
}

torch::Tensor ContextAttentionMask(int64_t local_t, const torch::Tensor& segments, int64_t window,
                                   const CpGroup& cp, const torch::Device& device) {
  const int64_t t = local_t * cp.size;
  const torch::Tensor query = ContextChunkIndices(t, cp.rank, cp.size, device).unsqueeze(1);  // (T/C, 1)
  const torch::Tensor key = GatheredKeyIndices(t, cp.size, device).unsqueeze(0);              // (1, T)
  torch::Tensor mask = key.le(query);
  if (window > 0) mask = mask.logical_and(key.gt(query - window));
  if (!segments.defined()) return mask;
  // (B, T/C) -> (B, T) in the keys' order: the segments are gathered like the keys.
  const torch::Tensor key_segments = cp.comm->AllGather(segments.t().contiguous()).t();
  const torch::Tensor same_document = segments.unsqueeze(2).eq(key_segments.unsqueeze(1));  // (B, T/C, T)
  return same_document.logical_and(mask).unsqueeze(1);
}

}  // namespace zen
