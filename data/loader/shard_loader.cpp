#include "data/loader/shard_loader.h"

#include <algorithm>

#include "data/common/sha256.h"
#include "data/common/worker_pool.h"

// Shards hold little-endian integers, read in place.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are little-endian");

namespace zen {
namespace {

absl::Status CheckTokenizer(const ShardLoaderOptions& o, const Manifest& m) {
  if (o.tokenizer_fingerprint.empty() || o.tokenizer_fingerprint == m.tokenizer) return absl::OkStatus();
  return BadInput(absl::StrCat(o.dir, " was prepared with the tokenizer ", m.tokenizer_path, " (", m.tokenizer,
                               "), not this run's (", o.tokenizer_fingerprint,
                               "): set tokenizer.path to the one the data was prepared with, or prepare it again"));
}

absl::StatusOr<MappedFile> MapChecked(const std::string& dir, const ShardFile& f, int64_t expected_bytes) {
  const std::string path = absl::StrCat(dir, "/", f.name);
  ZEN_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const auto bytes = static_cast<int64_t>(file.bytes().size());
  if (bytes != f.bytes || bytes != expected_bytes) {
    return BadInput(absl::StrCat(path, ": ", bytes, " bytes, but ", kManifestFile, " says ", f.bytes,
                                 f.bytes == expected_bytes ? "" : absl::StrCat(" and its counts imply ", expected_bytes),
                                 " (a truncated or replaced shard?)"));
  }
  return file;
}

// Document offsets must run from 0 to the shard's token count without going back.
absl::Status CheckOffsets(const std::string& path, const uint64_t* docs, int64_t documents, int64_t tokens) {
  if (docs[0] != 0 || docs[documents] != static_cast<uint64_t>(tokens) ||
      !std::is_sorted(docs, docs + documents + 1)) {
    return BadInput(absl::StrCat(path, ": document offsets are not increasing from 0 to ", tokens));
  }
  return absl::OkStatus();
}

// Media must have been prepared for the model's shape (sizes, token counts, placeholder ids).
absl::StatusOr<MediaShape> CheckMediaShape(const ShardLoaderOptions& o, const MediaEntry& e) {
  absl::StatusOr<MediaShape> shape = MediaShape::FromJson(e.shape);
  if (!shape.ok()) return Annotate(shape.status(), absl::StrCat(o.dir, "/", kManifestFile, ": media"));
  if (!o.media) {
    return BadInput(absl::StrCat(o.dir, " holds Zen-Omni media (images, video, audio), but the model has no vision or "
                                 "audio encoder (model.vision.layers and model.audio.layers are 0)"));
  }
  if (!(*shape == *o.media)) {
    return BadInput(absl::StrCat(o.dir, " was prepared for other media shapes than this model's (prepared vs model: ",
                                 shape->Differences(*o.media), "): prepare it again with this recipe"));
  }
  return shape;
}

// The index must run from no media to every medium, never going back.
absl::Status CheckMediaIndex(const std::string& path, const uint64_t* index, int64_t documents, const MediaEntry& e) {
  const uint64_t totals[kMediaIndexWidth] = {static_cast<uint64_t>(e.images), static_cast<uint64_t>(e.frames),
                                             static_cast<uint64_t>(e.audios)};
  for (int k = 0; k < kMediaIndexWidth; ++k) {
    bool ok = index[k] == 0 && index[documents * kMediaIndexWidth + k] == totals[k];
    for (int64_t d = 0; ok && d < documents; ++d) ok = index[d * kMediaIndexWidth + k] <= index[(d + 1) * kMediaIndexWidth + k];
    if (!ok) return BadInput(absl::StrCat(path, ": media offsets are not increasing from 0 to the manifest's counts"));
  }
  return absl::OkStatus();
}

}  // namespace

ShardDataSource::ShardDataSource(std::string dir, Manifest manifest, std::vector<Shard> shards,
                                 std::optional<Media> media, const ShardLoaderOptions& o)
    : dir_(std::move(dir)), manifest_(std::move(manifest)), shards_(std::move(shards)), media_(std::move(media)) {
  if (!media_) {
    packed_.emplace(Spans(shards_), o.seq_len, o.seed, o.block_causal, o.held_out_fraction);
    return;
  }
  const MediaArrays arrays{media_->shape, media_->images.As<uint8_t>(), media_->frames.As<uint8_t>(),
                           media_->audios.As<float>(), media_->index.As<uint64_t>()};
  records_.emplace(Spans(shards_), arrays, o.seq_len, o.seed, o.held_out_fraction);
}

Batch ShardDataSource::Rows(int64_t first, int64_t count) const {
  return packed_ ? packed_->Rows(first, count) : records_->Rows(first, count);
}
Batch ShardDataSource::HeldOutRows(int64_t first, int64_t count) const {
  return packed_ ? packed_->HeldOutRows(first, count) : records_->HeldOutRows(first, count);
}
int64_t ShardDataSource::HeldOutWindows() const {
  return packed_ ? packed_->HeldOutWindows() : records_->HeldOutWindows();
}
std::optional<double> ShardDataSource::TokensPerEpoch() const {
  return packed_ ? packed_->TokensPerEpoch() : records_->TokensPerEpoch();
}
int64_t ShardDataSource::Windows() const { return packed_ ? packed_->Windows() : records_->Windows(); }

std::vector<TokenSpan> ShardDataSource::Spans(const std::vector<Shard>& shards) {
  std::vector<TokenSpan> spans;
  for (const Shard& s : shards) {
    spans.push_back({s.ids.As<uint32_t>(), s.mask.As<uint8_t>(), s.docs.As<uint64_t>(), s.tokens, s.documents});
  }
  return spans;
}

absl::StatusOr<std::unique_ptr<ShardDataSource>> ShardDataSource::Open(const ShardLoaderOptions& o) {
  if (o.seq_len <= 0) return BadInput("seq_len: expected a positive number of tokens");
  ZEN_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(o.dir));
  ZEN_RETURN_IF_ERROR(CheckTokenizer(o, manifest));
  std::vector<Shard> shards;
  int64_t total_tokens = 0, total_documents = 0;
  for (const ShardEntry& e : manifest.shards) {
    Shard s;
    ZEN_ASSIGN_OR_RETURN(s.ids, MapChecked(o.dir, e.ids, 4 * e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.mask, MapChecked(o.dir, e.mask, e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.docs, MapChecked(o.dir, e.docs, 8 * (e.documents + 1)));
    ZEN_RETURN_IF_ERROR(CheckOffsets(absl::StrCat(o.dir, "/", e.docs.name), s.docs.As<uint64_t>(), e.documents, e.tokens));
    s.tokens = e.tokens;
    s.documents = e.documents;
    total_tokens += e.tokens;
    total_documents += e.documents;
    shards.push_back(std::move(s));
  }
  if (total_tokens != manifest.tokens || total_tokens == 0) {
    return BadInput(absl::StrCat(o.dir, "/", kManifestFile, ": its shards hold ", total_tokens, " tokens, it says ",
                                 manifest.tokens));
  }
  std::optional<Media> media;
  if (manifest.media) {
    const MediaEntry& e = *manifest.media;
    media.emplace();
    ZEN_ASSIGN_OR_RETURN(media->shape, CheckMediaShape(o, e));
    ZEN_ASSIGN_OR_RETURN(media->images, MapChecked(o.dir, e.images_file, e.images * ImageBytes(media->shape)));
    ZEN_ASSIGN_OR_RETURN(media->frames, MapChecked(o.dir, e.frames_file, e.frames * FrameBytes(media->shape)));
    ZEN_ASSIGN_OR_RETURN(media->audios, MapChecked(o.dir, e.audios_file, e.audios * AudioBytes(media->shape)));
    ZEN_ASSIGN_OR_RETURN(media->index,
                         MapChecked(o.dir, e.index_file, 8 * kMediaIndexWidth * (total_documents + 1)));
    ZEN_RETURN_IF_ERROR(CheckMediaIndex(absl::StrCat(o.dir, "/", e.index_file.name), media->index.As<uint64_t>(),
                                        total_documents, e));
  }
  if (o.verify_sha256) {
    // Every file hashed in parallel; the first mismatch in manifest order is reported.
    std::vector<std::pair<const ShardFile*, const MappedFile*>> files;
    for (size_t k = 0; k < shards.size(); ++k) {
      files.push_back({&manifest.shards[k].ids, &shards[k].ids});
      files.push_back({&manifest.shards[k].mask, &shards[k].mask});
      files.push_back({&manifest.shards[k].docs, &shards[k].docs});
    }
    if (media) {
      const MediaEntry& e = *manifest.media;
      files.insert(files.end(), {{&e.images_file, &media->images}, {&e.frames_file, &media->frames},
                                 {&e.audios_file, &media->audios}, {&e.index_file, &media->index}});
    }
    std::vector<char> matches(files.size());
    WorkerPool(o.threads).ParallelFor(files.size(), [&](size_t i) {
      matches[i] = Sha256Hex(files[i].second->bytes()) == files[i].first->sha256;
    });
    for (size_t i = 0; i < files.size(); ++i) {
      if (!matches[i]) {
        return BadInput(absl::StrCat(o.dir, "/", files[i].first->name, ": sha256 differs from ", kManifestFile,
                                     " (the shard was changed or is corrupt)"));
      }
    }
  }
  return std::unique_ptr<ShardDataSource>(
      new ShardDataSource(o.dir, std::move(manifest), std::move(shards), std::move(media), o));
}

absl::Status ShardDataSource::CheckVocab(int64_t vocab) const {
  if (manifest_.max_token_id < vocab) return absl::OkStatus();
  return BadInput(absl::StrCat(dir_, ": holds token id ", manifest_.max_token_id, ", outside the model's vocabulary (",
                               vocab, " ids); it was prepared with ", manifest_.tokenizer_path, " (",
                               manifest_.vocab_size, " ids)"));
}

}  // namespace zen
