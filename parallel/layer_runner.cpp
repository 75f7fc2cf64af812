#include "parallel/layer_runner.h"

#include "parallel/recompute.h"  // defines: Checkpoint, SelectiveRecomputeScope

namespace zen {

RecomputePolicy RecomputePolicyFor(const TrainSpec& train) {
  RecomputePolicy policy;
  if (train.recompute == "selective") policy.mode = RecomputeMode::kSelective;
  if (train.recompute == "full") policy.mode = RecomputeMode::kFull;
  policy.layers = train.recompute_layers;
  return policy;
}

torch::Tensor LayerRunner::Run(int64_t index, const torch::nn::Module& layer, const LayerFn& fn,
                               const torch::Tensor& x, const std::vector<torch::Tensor>& extra) const {
  switch (policy_.mode) {
    case RecomputeMode::kNone:
      return fn(x);
    case RecomputeMode::kSelective: {
      SelectiveRecomputeScope selective;
      return fn(x);
    }
    case RecomputeMode::kFull:
      break;
  }
  if (policy_.layers > 0 && index >= policy_.layers) return fn(x);
  std::vector<torch::Tensor> params = layer.parameters();
  params.insert(params.end(), extra.begin(), extra.end());
  return Checkpoint([fn](const std::vector<torch::Tensor>& in) { return fn(in[0]); }, {x}, params);
}

}  // namespace zen
