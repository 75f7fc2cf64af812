#include "data/loader/blended_source.h"

#include <algorithm>
#include <cmath>

namespace zen {
namespace {

std::vector<double> Weights(const std::vector<BlendedSource::Part>& parts) {
  std::vector<double> w;
  for (const auto& p : parts) w.push_back(p.weight);
  return w;
}

torch::Tensor CatDefined(const std::vector<Batch>& rows, torch::Tensor Batch::*field) {
  std::vector<torch::Tensor> parts;
  for (const Batch& b : rows) {
    if ((b.*field).defined()) parts.push_back(b.*field);
  }
  return parts.empty() ? torch::Tensor() : torch::cat(parts);
}

// Batches of one or more rows as one batch, in order: a row without segments is one document (zeros), and
// media stay in row order (data/loader/batch.h).
Batch ConcatRows(const std::vector<Batch>& rows) {
  Batch out;
  out.tokens = CatDefined(rows, &Batch::tokens);
  out.labels = CatDefined(rows, &Batch::labels);
  out.positions = CatDefined(rows, &Batch::positions);
  const bool any_segments = std::any_of(rows.begin(), rows.end(), [](const Batch& b) { return b.segments.defined(); });
  if (any_segments) {
    std::vector<torch::Tensor> segments;
    for (const Batch& b : rows) segments.push_back(b.segments.defined() ? b.segments : torch::zeros_like(b.tokens));
    out.segments = torch::cat(segments);
  }
  out.images = CatDefined(rows, &Batch::images);
  out.video_frames = CatDefined(rows, &Batch::video_frames);
  out.audios = CatDefined(rows, &Batch::audios);
  return out;
}

}  // namespace

BlendedSource::BlendedSource(std::vector<Part> parts, int64_t seq_len)
    : parts_(std::move(parts)), schedule_(Weights(parts_)), seq_len_(seq_len) {}

Batch BlendedSource::Rows(int64_t first, int64_t count) const {
  std::vector<Batch> rows;
  for (const BlendSchedule::Draw& d : schedule_.Locate(first, count)) rows.push_back(parts_[d.source].source->Rows(d.index, 1));
  return ConcatRows(rows);
}

double BlendedSource::TokensPerEpoch(const std::vector<double>& source_tokens, const std::vector<double>& weights,
                                     int64_t seq_len) {
  double sum = 0;
  for (double w : weights) sum += w;
  double rows = 0;
  for (size_t s = 0; s < weights.size(); ++s) {
    rows = std::max(rows, std::ceil(source_tokens[s] / static_cast<double>(seq_len) * sum / weights[s]));
  }
  return rows * static_cast<double>(seq_len);
}

std::optional<double> BlendedSource::TokensPerEpoch() const {
  std::vector<double> tokens;
  for (const Part& p : parts_) tokens.push_back(p.source->TokensPerEpoch().value_or(0));
  return TokensPerEpoch(tokens, Weights(parts_), seq_len_);
}

int64_t BlendedSource::HeldOutWindows() const {
  int64_t total = 0;
  for (const Part& p : parts_) total += p.source->HeldOutWindows();
  return total;
}

Batch BlendedSource::HeldOutRows(int64_t first, int64_t count) const {
  const int64_t total = HeldOutWindows();
  if (total == 0) return parts_.front().source->HeldOutRows(first, count);
  std::vector<Batch> rows;
  for (int64_t row = first; row < first + count; ++row) {
    int64_t r = row % total;
    size_t s = 0;
    while (r >= parts_[s].source->HeldOutWindows()) r -= parts_[s++].source->HeldOutWindows();
    rows.push_back(parts_[s].source->HeldOutRows(r, 1));
  }
  return ConcatRows(rows);
}

std::vector<std::pair<std::string, int64_t>> BlendedSource::RowsPerSource(int64_t rows) const {
  const std::vector<int64_t> counts = schedule_.RowsPerSource(rows);
  std::vector<std::pair<std::string, int64_t>> out;
  for (size_t s = 0; s < parts_.size(); ++s) out.emplace_back(parts_[s].name, counts[s]);
  return out;
}

}  // namespace zen
