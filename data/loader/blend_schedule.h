// Which source each training row of a blend comes from (data.blend), as Megatron-Core's
// BlendedDataset chooses it: row g goes to the source whose share of rows [0, g) lags its weight the
// most (ties to the first), so after any g rows every source holds its weight's share to within one row.
// The choice depends only on the weights and g, never on the layout or on what was read before: row g
// of a resumed run, or on any data-parallel rank, is the same. Each source's rows are numbered 0, 1, ...
// in the order the blend takes them; the source itself shuffles and wraps them (data/loader/packed_rows.h).
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace zen {

class BlendSchedule {
 public:
  // weights: positive, relative (normalized here).
  explicit BlendSchedule(const std::vector<double>& weights);

  struct Draw {
    int source = 0;     // index into the weights
    int64_t index = 0;  // the source's own row number: rows of that source before this one
  };
  // Where rows [first, first + count) come from, in order.
  std::vector<Draw> Locate(int64_t first, int64_t count) const;
  // Rows each source gives among rows [0, rows).
  std::vector<int64_t> RowsPerSource(int64_t rows) const;

  int Sources() const { return static_cast<int>(weights_.size()); }
  const std::vector<double>& weights() const { return weights_; }  // normalized, summing to 1

 private:
  static constexpr int64_t kStride = 4096;  // rows between remembered counts
  int Pick(int64_t row, const std::vector<int64_t>& counts) const;
  // Counts of each source before row `row`: from the remembered counts at the nearest multiple of
  // kStride below it (computed once, on first need), then row by row.
  std::vector<int64_t> CountsBefore(int64_t row) const;

  std::vector<double> weights_;
  mutable std::mutex mutex_;
  mutable std::vector<std::vector<int64_t>> checkpoints_;  // [k]: counts before row k * kStride
};

}  // namespace zen
