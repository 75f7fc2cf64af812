#include "trainer/grad_clip.h"

#include <cmath>

namespace zen {
namespace {

// Sum of squared grad elements on this rank, as one host number.
double LocalSquaredNorm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;  // one 0-d fp32 tensor per defined grad
  for (const torch::Tensor& p : params) {
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    torch::Tensor n = torch::linalg_vector_norm(g, 2, c10::nullopt, false, torch::kFloat32);
    // Norms of grads on other devices join the first one's, so the sum needs one sync.
    norms.push_back(norms.empty() ? n : n.to(norms.front().device()));
  }
  if (norms.empty()) return 0.0;
  return torch::stack(norms).to(torch::kFloat64).square().sum().item<double>();
}

}  // namespace

double GlobalGradNorm(const std::vector<torch::Tensor>& params, const SquaredNormReduce& reduce) {
  torch::NoGradGuard no_grad;
  double squared = LocalSquaredNorm(params);
  if (reduce) squared = reduce(squared);
  return std::sqrt(squared);
}

void ScaleGrads(const std::vector<torch::Tensor>& params, double factor) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) p.grad().mul_(factor);
  }
}

double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm,
                    const SquaredNormReduce& reduce) {
  const double norm = GlobalGradNorm(params, reduce);
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    ScaleGrads(params, max_norm / (norm + 1e-6));
  }
  return norm;
}

}  // namespace zen
