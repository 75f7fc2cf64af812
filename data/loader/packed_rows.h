// Packing documents into training rows, over token arrays whoever owns them (memory-mapped shards,
// the demo task's generated corpus).
//
// All documents, span after span, form one token stream cut into windows of seq_len tokens (the last
// one padded). Positions restart at 0 at each document start and at the window start, so a model sees
// where documents begin; labels never cross a document end, a label is the next token only where that
// token's loss mask is 1, and (block_causal) each token is tagged with its document's index in the row
// so attention stays inside it. Rows are windows in a shuffled order: row g is window perm_e(g mod W)
// of epoch e = g / W, with perm_e a bijection keyed by (seed, e). A row therefore depends only on
// (seed, g): every parallel layout reads the same rows, and resuming at a step needs no loader state
// beyond it; each epoch reshuffles.
#pragma once

#include <cstdint>
#include <vector>

#include "data/loader/batch.h"

namespace zen {

// Documents back to back, as a shard stores them (data/shards/shard_manifest.h); the memory is borrowed.
struct TokenSpan {
  const uint32_t* ids = nullptr;   // (tokens)
  const uint8_t* mask = nullptr;   // (tokens): 1 = predicting this token earns loss
  const uint64_t* docs = nullptr;  // (documents + 1): offsets from 0 to tokens, non-decreasing
  int64_t tokens = 0;
  int64_t documents = 0;
};

class PackedRows {
 public:
  // The spans must outlive this object.
  // held_out_fraction: the share of windows, taken from the end of the stream, kept out of training for
  // validation (at least one when > 0).
  PackedRows(const std::vector<TokenSpan>& spans, int64_t seq_len, uint64_t seed, bool block_causal,
             double held_out_fraction = 0);

  // Rows [first, first + count) of the run; segments only when block_causal and some row holds a
  // document boundary (data/loader/batch.h).
  Batch Rows(int64_t first, int64_t count) const;
  int64_t Windows() const { return windows_; }  // training rows per epoch
  double TokensPerEpoch() const { return static_cast<double>(windows_ * seq_len_); }
  // Held-out rows [first, first + count), in a fixed order (cycling when count exceeds them).
  Batch HeldOutRows(int64_t first, int64_t count) const;
  int64_t HeldOutWindows() const { return held_out_; }

  // Windows of seq_len (the last one padded) that `tokens` tokens fill, and those left for training.
  static int64_t Windows(int64_t tokens, int64_t seq_len) { return (tokens + seq_len - 1) / seq_len; }
  static int64_t HeldOut(int64_t windows, double fraction);
  static double TokensPerEpoch(int64_t tokens, int64_t seq_len, double held_out_fraction = 0) {
    const int64_t windows = Windows(tokens, seq_len);
    return static_cast<double>((windows - HeldOut(windows, held_out_fraction)) * seq_len);
  }

 private:
  struct Placed {
    TokenSpan span;
    int64_t first_token = 0;  // index of its first token in the whole stream
  };
  // Writes window w into one row of tokens, labels, positions and segments (each seq_len long).
  void FillWindow(int64_t window, int64_t* tokens, int64_t* labels, int64_t* positions, int64_t* segments) const;
  // Rows made of the given windows.
  Batch Assemble(const std::vector<int64_t>& windows) const;

  std::vector<Placed> spans_;
  int64_t seq_len_;
  uint64_t seed_;
  bool block_causal_;
  int64_t windows_ = 0;   // for training
  int64_t held_out_ = 0;  // after them, for validation
};

}  // namespace zen
