// Gradient norm and clipping over all of this rank's parameters, with a hook that sums the squared
// norm over the ranks that hold other shards (tensor / pipeline parallel), so every rank clips alike.
#pragma once

#include <functional>
#include <vector>

#include <torch/torch.h>

namespace zen {

// Takes this rank's sum of squared grad elements and returns the sum over all ranks that share the
// model (an all-reduce). Empty = identity: one process holds every parameter.
using SquaredNormReduce = std::function<double(double)>;

// sqrt(sum over params of ||grad||^2), each tensor's norm taken in fp32 (bf16 grads are upcast) and the
// squares summed in fp64. Params whose grad is undefined contribute nothing. Syncs the device once.
double GlobalGradNorm(const std::vector<torch::Tensor>& params, const SquaredNormReduce& reduce = {});

// grad *= factor, in place, for every param whose grad is defined.
void ScaleGrads(const std::vector<torch::Tensor>& params, double factor);

// As torch.nn.utils.clip_grad_norm_: when the global norm exceeds max_norm, scales every grad by
// max_norm / (norm + 1e-6). Returns the norm before clipping. max_norm <= 0 only measures (clipping
// off, as optim.grad_clip = 0). A non-finite norm scales nothing: the step's NaN policy decides.
double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm,
                    const SquaredNormReduce& reduce = {});

}  // namespace zen
