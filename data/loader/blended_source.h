// data.blend: training rows drawn from several sources (prepared folders) in proportion to their
// weights. Row g is row `index` of source `source`, as data/loader/blend_schedule.h chooses; each
// source shuffles its own rows per epoch and wraps around when the blend has read it all (an epoch is
// per source: a source with more weight than data is repeated, reshuffled each time, as Megatron's
// blended datasets repeat theirs). A row depends only on (seed, g), like every DataSource.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/loader/blend_schedule.h"
#include "data/loader/source.h"

namespace zen {

class BlendedSource : public DataSource {
 public:
  struct Part {
    std::string name;  // how metrics name it: the blend entry's path
    double weight = 1;
    std::unique_ptr<DataSource> source;  // finite (TokensPerEpoch set)
  };
  // Every part's rows are seq_len long.
  BlendedSource(std::vector<Part> parts, int64_t seq_len);

  Batch Rows(int64_t first, int64_t count) const override;
  // Tokens until every source has been read once in full (the one with the least weight for its size
  // sets it): train.epochs counts these.
  std::optional<double> TokensPerEpoch() const override;
  // Every source's held-out rows, source after source.
  int64_t HeldOutWindows() const override;
  Batch HeldOutRows(int64_t first, int64_t count) const override;
  std::vector<std::pair<std::string, int64_t>> RowsPerSource(int64_t rows) const override;

  // TokensPerEpoch() from the sources' tokens per epoch and the weights, without opening anything.
  static double TokensPerEpoch(const std::vector<double>& source_tokens, const std::vector<double>& weights,
                               int64_t seq_len);

 private:
  std::vector<Part> parts_;
  BlendSchedule schedule_;
  int64_t seq_len_ = 0;
};

}  // namespace zen
