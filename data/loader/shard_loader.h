// Training rows from a folder written by `zen data prepare` (layout in data/shards/shard_manifest.h).
//
// Rows are packed by data/loader/packed_rows.h (positions restart per document, block-causal segments,
// a per-epoch shuffle keyed by the seed); Zen-Omni's data (a manifest with media) is read one document
// per row with its media instead (data/loader/record_rows.h). This class maps and checks the files it reads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/common/mapped_file.h"
#include "data/loader/packed_rows.h"
#include "data/loader/record_rows.h"
#include "data/loader/source.h"
#include "data/media/media.h"
#include "data/shards/shard_manifest.h"

namespace zen {

struct ShardLoaderOptions {
  std::string dir;
  int64_t seq_len = 2048;
  uint64_t seed = 0;
  std::string tokenizer_fingerprint;  // when set, must equal the manifest's (see TokenizerFingerprint)
  bool verify_sha256 = true;          // hash every file against the manifest (sizes are always checked)
  int threads = 0;                    // for hashing; 0 = every core
  bool block_causal = true;           // give each batch its rows' document segments (data/loader/batch.h)
  double held_out_fraction = 0;       // windows kept out of training for validation (PackedRows)
  // The run's model's media shape when it is multimodal (MediaShape::FromModel): prepared media must
  // have been prepared for the same shape; data with media needs it, data without refuses it.
  std::optional<MediaShape> media;
};

class ShardDataSource : public DataSource {
 public:
  static absl::StatusOr<std::unique_ptr<ShardDataSource>> Open(const ShardLoaderOptions& options);

  Batch Rows(int64_t first, int64_t count) const override;
  int64_t HeldOutWindows() const override;
  Batch HeldOutRows(int64_t first, int64_t count) const override;
  std::optional<double> TokensPerEpoch() const override;

  // An error when the data holds a token id the model cannot embed (id >= vocab).
  absl::Status CheckVocab(int64_t vocab) const;

  int64_t Windows() const;  // rows per epoch
  const Manifest& manifest() const { return manifest_; }

 private:
  struct Shard {
    MappedFile ids, mask, docs;
    int64_t tokens = 0;
    int64_t documents = 0;
  };
  struct Media {
    MappedFile images, frames, audios, index;
    MediaShape shape;
  };
  ShardDataSource(std::string dir, Manifest manifest, std::vector<Shard> shards, std::optional<Media> media,
                  const ShardLoaderOptions& options);
  static std::vector<TokenSpan> Spans(const std::vector<Shard>& shards);

  std::string dir_;
  Manifest manifest_;
  std::vector<Shard> shards_;   // the mappings the rows read
  std::optional<Media> media_;
  std::optional<PackedRows> packed_;    // text data
  std::optional<RecordRows> records_;   // data with media
};

}  // namespace zen
