#include "data/loader/record_rows.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "data/common/mix_random.h"
#include "data/media/image.h"

namespace zen {
namespace {

int64_t Count(const uint32_t* ids, int64_t n, int64_t id) {
  return std::count(ids, ids + n, static_cast<uint32_t>(id));
}

// Media items [first, first + count) of an array of items of `item` elements each, as (count, shape...).
torch::Tensor Items(const void* base, int64_t first, int64_t count, std::vector<int64_t> shape, torch::ScalarType type) {
  const int64_t item = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  shape.insert(shape.begin(), count);
  const auto* bytes = static_cast<const uint8_t*>(base) + first * item * torch::elementSize(type);
  return torch::from_blob(const_cast<uint8_t*>(bytes), shape, type);  // read only: converted or cloned below
}

torch::Tensor CatOrUndefined(const std::vector<torch::Tensor>& parts) {
  int64_t total = 0;
  for (const torch::Tensor& p : parts) total += p.size(0);
  return total == 0 ? torch::Tensor() : torch::cat(parts);
}

}  // namespace

RecordRows::RecordRows(const std::vector<TokenSpan>& spans, MediaArrays media, int64_t seq_len, uint64_t seed,
                       double held_out_fraction)
    : spans_(spans), media_(std::move(media)), seq_len_(seq_len), seed_(seed) {
  for (size_t k = 0; k < spans_.size(); ++k) {
    for (int64_t d = 0; d < spans_[k].documents; ++d) documents_.push_back({k, d});
  }
  const auto all = static_cast<int64_t>(documents_.size());
  held_out_ = PackedRows::HeldOut(all, held_out_fraction);
  rows_ = all - held_out_;
}

int64_t RecordRows::KeptTokens(const uint32_t* ids, int64_t length) const {
  const int64_t n = std::min(length, seq_len_);
  if (n == length) return n;
  // Runs are whole blocks, so the count of the last token's kind is a multiple of its block unless the
  // cut splits one; then cut before that block.
  const MediaShape& s = media_.shape;
  for (auto [id, block] : {std::pair{s.image_token_id, s.image_tokens}, std::pair{s.video_token_id, s.frame_tokens},
                           std::pair{s.audio_token_id, s.audio_tokens}}) {
    if (static_cast<int64_t>(ids[n - 1]) == id && block > 0) return n - Count(ids, n, id) % block;
  }
  return n;
}

void RecordRows::FillRow(int64_t d, int64_t* tokens, int64_t* labels, int64_t* positions,
                         std::vector<torch::Tensor>& images, std::vector<torch::Tensor>& frames,
                         std::vector<torch::Tensor>& audios) const {
  const TokenSpan& span = spans_[documents_[d].span];
  const int64_t begin = static_cast<int64_t>(span.docs[documents_[d].doc]);
  const uint32_t* ids = span.ids + begin;
  const uint8_t* mask = span.mask + begin;
  const int64_t n = KeptTokens(ids, static_cast<int64_t>(span.docs[documents_[d].doc + 1]) - begin);
  for (int64_t t = 0; t < seq_len_; ++t) {
    tokens[t] = t < n ? ids[t] : 0;
    positions[t] = t < n ? t : 0;
    labels[t] = t + 1 < n && mask[t + 1] ? static_cast<int64_t>(ids[t + 1]) : kIgnoreLabel;
  }
  const MediaShape& s = media_.shape;
  const uint64_t* index = media_.index + d * kMediaIndexWidth;  // images, frames, audios before document d
  const int64_t kept_images = s.image_tokens > 0 ? Count(ids, n, s.image_token_id) / s.image_tokens : 0;
  const int64_t kept_frames = s.frame_tokens > 0 ? Count(ids, n, s.video_token_id) / s.frame_tokens : 0;
  const int64_t kept_audios = s.audio_tokens > 0 ? Count(ids, n, s.audio_token_id) / s.audio_tokens : 0;
  images.push_back(Items(media_.images, index[0], kept_images, {3, s.image_size, s.image_size}, torch::kUInt8));
  frames.push_back(Items(media_.frames, index[1], kept_frames, {3, s.video_size, s.video_size}, torch::kUInt8));
  audios.push_back(Items(media_.audios, index[2], kept_audios, {s.mel_bins, s.chunk_frames}, torch::kFloat32));
}

Batch RecordRows::Assemble(const std::vector<int64_t>& documents) const {
  const auto count = static_cast<int64_t>(documents.size());
  auto tokens = torch::empty({count, seq_len_}, torch::kInt64);
  auto labels = torch::empty({count, seq_len_}, torch::kInt64);
  auto positions = torch::empty({count, seq_len_}, torch::kInt64);
  std::vector<torch::Tensor> images, frames, audios;
  for (int64_t r = 0; r < count; ++r) {
    FillRow(documents[r], tokens[r].data_ptr<int64_t>(), labels[r].data_ptr<int64_t>(), positions[r].data_ptr<int64_t>(),
            images, frames, audios);
  }
  Batch batch{tokens, labels, positions, torch::Tensor()};  // one document a row: causal attention is enough
  batch.images = CatOrUndefined(images);
  if (batch.images.defined()) batch.images = NormalizeImages(batch.images);
  batch.video_frames = CatOrUndefined(frames);
  if (batch.video_frames.defined()) batch.video_frames = NormalizeImages(batch.video_frames);
  batch.audios = CatOrUndefined(audios);  // cat copies: the batch never aliases the mapping
  return batch;
}

Batch RecordRows::Rows(int64_t first, int64_t count) const {
  std::vector<int64_t> documents;
  for (int64_t row = first; row < first + count; ++row) documents.push_back(EpochShuffledItem(row, rows_, seed_));
  return Assemble(documents);
}

Batch RecordRows::HeldOutRows(int64_t first, int64_t count) const {
  std::vector<int64_t> documents;
  for (int64_t row = first; row < first + count; ++row) documents.push_back(rows_ + row % std::max<int64_t>(held_out_, 1));
  return Assemble(documents);
}

}  // namespace zen
