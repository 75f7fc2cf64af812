// The tensor-parallel group a layer belongs to. With size 1 every parallel layer is a plain layer,
// so the model is written once and parallelism enters only through the layers it is built from.
#pragma once

#include <cstdint>

namespace zen {

class Communicator;  // parallel/communicator.h: all_reduce, all_gather, ... over a group of ranks

struct TpGroup {
  Communicator* comm = nullptr;  // null only when size == 1
  int64_t rank = 0;              // this rank's index in the group
  int64_t size = 1;
  // A layer every rank holds whole inside a tensor-parallel model (the MoE router and experts): it
  // splits nothing, and its parameters count as replicated, not as shards of a tp=1 model.
  bool replicated = false;
  // Megatron's sequence parallelism (parallel.sequence): outside the tensor-parallel regions (norms,
  // residual adds) activations are split along the sequence over this group, so a region is entered by
  // an all-gather along the sequence and left by a reduce-scatter (parallel/mappings.h).
  bool sequence_parallel = false;

  static TpGroup Replicated() {
    TpGroup g;
    g.replicated = true;
    return g;
  }

  // The [begin, end) slice of a dimension of length `n` that this rank holds (n divisible by size).
  int64_t ShardBegin(int64_t n) const { return rank * (n / size); }
  int64_t ShardSize(int64_t n) const { return n / size; }
};

}  // namespace zen
