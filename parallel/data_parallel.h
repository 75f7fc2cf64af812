// Data parallelism: after backward, gradients are summed over the data-parallel group, a few large
// buckets at a time rather than one collective per tensor. Summed, not averaged: the trainer divides each
// micro-batch's loss by the token count of the whole global batch, so the sum is the global mean's gradient.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "parallel/communicator.h"

namespace zen {

class GradientBuckets {
 public:
  // Groups `params` (in order) into buckets of about `bucket_bytes` of gradient each.
  GradientBuckets(std::vector<torch::Tensor> params, int64_t bucket_bytes = 32 << 20);

  // Sums every param's gradient over `group`, in place. Undefined gradients count as zeros.
  void AllReduce(Communicator& group);

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  std::vector<std::vector<torch::Tensor>> buckets_;
};

}  // namespace zen
