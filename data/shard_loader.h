// Training rows from a folder written by `zen data prepare` (layout in data/shard_manifest.h).
//
// Rows are packed by data/packed_rows.h (positions restart per document, block-causal segments,
// a per-epoch shuffle keyed by the seed); this class maps and checks the files it reads them from.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/mapped_file.h"
#include "data/packed_rows.h"
#include "data/shard_manifest.h"
#include "data/source.h"

namespace zen {

struct ShardLoaderOptions {
  std::string dir;
  int64_t seq_len = 2048;
  uint64_t seed = 0;
  std::string tokenizer_fingerprint;  // when set, must equal the manifest's (see TokenizerFingerprint)
  bool verify_sha256 = true;          // hash every file against the manifest (sizes are always checked)
  int threads = 0;                    // for hashing; 0 = every core
  bool block_causal = true;           // give each batch its rows' document segments (data/batch.h)
  double held_out_fraction = 0;       // windows kept out of training for validation (PackedRows)
};

class ShardDataSource : public DataSource {
 public:
  static absl::StatusOr<std::unique_ptr<ShardDataSource>> Open(const ShardLoaderOptions& options);

  Batch Rows(int64_t first, int64_t count) const override { return rows_.Rows(first, count); }
  int64_t HeldOutWindows() const override { return rows_.HeldOutWindows(); }
  Batch HeldOutRows(int64_t first, int64_t count) const override { return rows_.HeldOutRows(first, count); }
  std::optional<double> TokensPerEpoch() const override { return rows_.TokensPerEpoch(); }

  // An error when the data holds a token id the model cannot embed (id >= vocab).
  absl::Status CheckVocab(int64_t vocab) const;

  int64_t Windows() const { return rows_.Windows(); }  // rows per epoch
  const Manifest& manifest() const { return manifest_; }

 private:
  struct Shard {
    MappedFile ids, mask, docs;
    int64_t tokens = 0;
    int64_t documents = 0;
  };
  ShardDataSource(std::string dir, Manifest manifest, std::vector<Shard> shards, const ShardLoaderOptions& options);
  static std::vector<TokenSpan> Spans(const std::vector<Shard>& shards);

  std::string dir_;
  Manifest manifest_;
  std::vector<Shard> shards_;  // the mappings rows_ reads
  PackedRows rows_;
};

}  // namespace zen
