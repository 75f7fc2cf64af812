#include "data/loader/packed_rows.h"

#include <algorithm>

#include "data/common/mix_random.h"

namespace zen {

PackedRows::PackedRows(const std::vector<TokenSpan>& spans, int64_t seq_len, uint64_t seed, bool block_causal,
                       double held_out_fraction)
    : seq_len_(seq_len), seed_(seed), block_causal_(block_causal) {
  int64_t first_token = 0;
  for (const TokenSpan& s : spans) {
    spans_.push_back({s, first_token});
    first_token += s.tokens;
  }
  const int64_t all = Windows(first_token, seq_len_);
  held_out_ = HeldOut(all, held_out_fraction);
  windows_ = all - held_out_;
}

int64_t PackedRows::HeldOut(int64_t windows, double fraction) {
  if (fraction <= 0 || windows < 2) return 0;
  return std::clamp<int64_t>(static_cast<int64_t>(fraction * static_cast<double>(windows)), 1, windows - 1);
}

void PackedRows::FillWindow(int64_t window, int64_t* tokens, int64_t* labels, int64_t* positions,
                            int64_t* segments) const {
  const int64_t begin = window * seq_len_;
  auto span = std::upper_bound(spans_.begin(), spans_.end(), begin,
                               [](int64_t token, const Placed& s) { return token < s.first_token; }) - 1;
  int64_t t = 0, segment = -1;
  for (; t < seq_len_ && span != spans_.end(); ++span) {
    const TokenSpan& s = span->span;
    const int64_t window_start = begin - span->first_token;  // in span coordinates; < 0 if in an earlier span
    int64_t j = begin + t - span->first_token;
    int64_t d = std::upper_bound(s.docs, s.docs + s.documents + 1, static_cast<uint64_t>(j)) - s.docs - 1;
    for (; t < seq_len_ && j < s.tokens; ++d) {
      const auto doc_end = static_cast<int64_t>(s.docs[d + 1]);
      const int64_t position_zero = std::max(static_cast<int64_t>(s.docs[d]), window_start);
      ++segment;
      for (; t < seq_len_ && j < doc_end; ++t, ++j) {
        tokens[t] = s.ids[j];
        positions[t] = j - position_zero;
        segments[t] = segment;
        labels[t] = j + 1 < doc_end && s.mask[j + 1] ? static_cast<int64_t>(s.ids[j + 1]) : kIgnoreLabel;
      }
    }
  }
  ++segment;  // the last window's padding: a document of its own, which earns no loss
  for (; t < seq_len_; ++t) tokens[t] = 0, labels[t] = kIgnoreLabel, positions[t] = 0, segments[t] = segment;
}

Batch PackedRows::Rows(int64_t first, int64_t count) const {
  std::vector<int64_t> windows;
  for (int64_t row = first; row < first + count; ++row) windows.push_back(EpochShuffledItem(row, windows_, seed_));
  return Assemble(windows);
}

Batch PackedRows::HeldOutRows(int64_t first, int64_t count) const {
  std::vector<int64_t> windows;
  for (int64_t row = first; row < first + count; ++row) windows.push_back(windows_ + row % std::max<int64_t>(held_out_, 1));
  return Assemble(windows);
}

Batch PackedRows::Assemble(const std::vector<int64_t>& windows) const {
  const auto count = static_cast<int64_t>(windows.size());
  auto tokens = torch::empty({count, seq_len_}, torch::kInt64);
  auto labels = torch::empty({count, seq_len_}, torch::kInt64);
  auto positions = torch::empty({count, seq_len_}, torch::kInt64);
  auto segments = torch::empty({count, seq_len_}, torch::kInt64);
  for (int64_t r = 0; r < count; ++r) {
    FillWindow(windows[r], tokens[r].data_ptr<int64_t>(), labels[r].data_ptr<int64_t>(),
               positions[r].data_ptr<int64_t>(), segments[r].data_ptr<int64_t>());
  }
  // A batch whose rows each hold one document needs no mask beyond causal.
  const bool boundaries = segments.select(1, seq_len_ - 1).any().item<bool>();
  return {tokens, labels, positions, block_causal_ && boundaries ? segments : torch::Tensor()};
}

}  // namespace zen
