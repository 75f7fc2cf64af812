// Training rows for Zen-Omni's data: one document per row (never packed), with its media.
//
// A row holds one chat record's tokens from position 0, padded to seq_len with ignored labels; so the
// k-th image (frame, audio) placeholder block of a row is the row's k-th image (frame, audio), and the
// batch lists media row by row in that order (data/loader/batch.h). A record longer than seq_len is cut, at the
// start of the placeholder block the cut would split, so a row never holds part of a medium; the media
// after the cut are left out with it. Rows are documents in a shuffled order exactly as PackedRows
// orders windows: row g is document perm_e(g mod D) of epoch e = g / D, keyed by (seed, e), so a row
// depends only on (seed, g) (same batches for every parallel layout, exact resume).
#pragma once

#include <cstdint>
#include <vector>

#include "data/loader/batch.h"
#include "data/loader/packed_rows.h"
#include "data/media/media_files.h"

namespace zen {

class RecordRows {
 public:
  // The spans and media must outlive this object. held_out_fraction: the share of documents, from the end,
  // kept out of training for validation (at least one when > 0).
  RecordRows(const std::vector<TokenSpan>& spans, MediaArrays media, int64_t seq_len, uint64_t seed,
             double held_out_fraction = 0);

  Batch Rows(int64_t first, int64_t count) const;
  Batch HeldOutRows(int64_t first, int64_t count) const;
  int64_t Windows() const { return rows_; }  // training rows per epoch: documents not held out
  int64_t HeldOutWindows() const { return held_out_; }
  double TokensPerEpoch() const { return static_cast<double>(rows_ * seq_len_); }
  static double TokensPerEpoch(int64_t documents, int64_t seq_len, double held_out_fraction = 0) {
    return static_cast<double>((documents - PackedRows::HeldOut(documents, held_out_fraction)) * seq_len);
  }

 private:
  struct Document {
    size_t span;  // index into spans_
    int64_t doc;  // within the span
  };
  // Tokens of document d that fit a row without splitting a placeholder block.
  int64_t KeptTokens(const uint32_t* ids, int64_t length) const;
  // Writes document d into one row; appends its media (those whose blocks were kept) to the lists.
  void FillRow(int64_t d, int64_t* tokens, int64_t* labels, int64_t* positions, std::vector<torch::Tensor>& images,
               std::vector<torch::Tensor>& frames, std::vector<torch::Tensor>& audios) const;
  Batch Assemble(const std::vector<int64_t>& documents) const;

  std::vector<TokenSpan> spans_;
  std::vector<Document> documents_;
  MediaArrays media_;
  int64_t seq_len_;
  uint64_t seed_;
  int64_t rows_ = 0;      // for training
  int64_t held_out_ = 0;  // after them, for validation
};

}  // namespace zen
