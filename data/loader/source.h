// Where training sequences come from. Sources are row-addressable: row g of the run is the same
// sequence whatever the parallel layout, so every layout trains on the same global batches, and a
// resumed run continues at the row it stopped at with no loader state beyond the step.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/recipe.h"
#include "core/status.h"
#include "data/loader/batch.h"

namespace zen {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // Rows [first, first + count) as one batch: tokens, labels, positions of shape (count, seq_len).
  virtual Batch Rows(int64_t first, int64_t count) const = 0;
  // Tokens in one pass over the data, when finite (bounds the run by train.epochs).
  virtual std::optional<double> TokensPerEpoch() const { return std::nullopt; }
  // Rows kept out of training for validation (data.eval_fraction), in a fixed order; none by default.
  virtual int64_t HeldOutWindows() const { return 0; }
  virtual Batch HeldOutRows(int64_t first, int64_t count) const { return Rows(first, count); }
  // For a blend of sources (data.blend): how many of rows [0, rows) each source gave, by its name (the
  // entry's path), in the blend's order. Empty for a single source.
  virtual std::vector<std::pair<std::string, int64_t>> RowsPerSource(int64_t /*rows*/) const { return {}; }
};

// The recipe's source: the demo task (`data.source: demo`) or the shards in `data.path`, checked (exit 2
// naming data.path when they were never prepared, or disagree with their manifest, tokenizer or vocabulary).
absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const Recipe& recipe);

// What TokensPerEpoch() of that source will be, without opening and checking the shards (their
// manifest is enough) so that `zen validate` can derive the run's length; nullopt when unknown (data
// not prepared yet).
std::optional<double> TokensPerEpochOf(const Recipe& recipe);

}  // namespace zen
