#include "trainer/model_stage.h"

#include <limits>

#include "models/param_count.h"
#include "parallel/pipeline_split.h"
#include "trainer/precision.h"

namespace zen {

StageRange ChooseStage(const Recipe& r, const Layout& layout, int64_t stage) {
  const ModelSpec& m = r.model;
  std::vector<LayerRange> ranges;
  if (!r.parallel.stage_layers.empty()) {
    ranges = StagesFromCounts(r.parallel.stage_layers, m.layers, layout.pp).value();  // checked by CheckLayout
  } else {
    std::vector<double> costs;
    for (int64_t l = 0; l < m.layers; ++l) costs.push_back(LayerFlopsPerToken(m, l, r.train.seq_len));
    ranges = BalanceStages(costs, HeadFlopsPerToken(m), layout.pp);
  }
  const LayerRange& mine = ranges[stage];
  return {mine.first, mine.end, /*has_embedding=*/stage == 0, /*has_head=*/stage == layout.pp - 1};
}

ModelStage::ModelStage(Qwen3& model, const std::vector<Batch>& micro, double denominator, bool bf16,
                       bool poison_loss)
    : model_(model), micro_(micro), denominator_(denominator), bf16_(bf16), poison_loss_(poison_loss) {}

torch::Tensor ModelStage::Forward(int64_t micro, const torch::Tensor& input) {
  const Batch& b = micro_[micro];
  const StageRange& stage = model_->stage();
  AutocastScope autocast(bf16_, b.tokens.device());
  const MediaInputs media{b.images, b.video_frames, b.audios};  // Zen-Omni's; undefined for text
  torch::Tensor hidden = stage.has_embedding ? model_->forward(b.tokens, b.positions, b.segments, media)
                                             : model_->forward_hidden(input, b.positions, b.segments);
  if (!stage.has_head) return hidden;  // (B, T, C) for the next stage
  torch::Tensor loss = model_->loss_sum(hidden, b.labels);
  if (poison_loss_) loss = loss * std::numeric_limits<float>::quiet_NaN();
  loss_sum_ = loss_sum_.defined() ? loss_sum_ + loss.detach() : loss.detach().to(torch::kDouble);
  micro_losses_.push_back(loss.detach());
  return loss / denominator_;
}

std::vector<double> ModelStage::MicroLossSums() const {
  std::vector<double> sums;
  for (const torch::Tensor& l : micro_losses_) sums.push_back(l.item<double>());
  return sums;
}

}  // namespace zen
