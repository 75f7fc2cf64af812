#include "parallel/data_parallel.h"

namespace zen {

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> params, int64_t bucket_bytes) {
  int64_t bytes = 0;
  for (torch::Tensor& p : params) {
    if (buckets_.empty() || bytes >= bucket_bytes || buckets_.back().front().scalar_type() != p.scalar_type()) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(p);
    bytes += p.numel() * p.element_size();
  }
}

void GradientBuckets::AllReduce(Communicator& group) {
  if (group.size() == 1) return;
  for (const std::vector<torch::Tensor>& bucket : buckets_) {
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor& p : bucket) {
      flat.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}, p.options()));
    }
    torch::Tensor buffer = torch::cat(flat);  // (sum of numels,)
    group.AllReduceSum(buffer);
    int64_t offset = 0;
    for (const torch::Tensor& p : bucket) {
      torch::Tensor summed = buffer.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(summed);
      } else {
        p.mutable_grad() = summed.clone();
      }
      offset += p.numel();
    }
  }
}

}  // namespace zen
