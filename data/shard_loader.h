// Training rows from a folder written by `zen data prepare` (layout in data/shard_manifest.h).
//
// Packing: all documents, shard after shard, form one token stream cut into windows of seq_len tokens
// (the last one padded). Positions restart at 0 at each document start and at the window start, so a
// model sees where documents begin; labels never cross a document end, a label is the next token only
// where that token's loss mask is 1, and (block_causal) each token is tagged with its document's index
// in the row so attention stays inside it. Rows are windows in a shuffled order: row g is window
// perm_e(g mod W) of epoch e = g / W, with perm_e a bijection keyed by (seed, e). A row therefore
// depends only on (seed, g): every parallel layout reads the same rows, and resuming at a step needs
// no loader state beyond it; each epoch reshuffles.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/mapped_file.h"
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
};

class ShardDataSource : public DataSource {
 public:
  static absl::StatusOr<std::unique_ptr<ShardDataSource>> Open(const ShardLoaderOptions& options);

  Batch Rows(int64_t first, int64_t count) const override;
  std::optional<double> TokensPerEpoch() const override { return static_cast<double>(windows_ * seq_len_); }

  // An error when the data holds a token id the model cannot embed (id >= vocab).
  absl::Status CheckVocab(int64_t vocab) const;

  int64_t Windows() const { return windows_; }  // rows per epoch
  const Manifest& manifest() const { return manifest_; }

 private:
  struct Shard {
    MappedFile ids, mask, docs;
    int64_t first_token = 0;  // index of its first token in the whole stream
    int64_t tokens = 0;
    int64_t documents = 0;
  };
  ShardDataSource(std::string dir, Manifest manifest, std::vector<Shard> shards, const ShardLoaderOptions& options);

  // Writes window w into one row of tokens, labels, positions and segments (each seq_len long).
  void FillWindow(int64_t window, int64_t* tokens, int64_t* labels, int64_t* positions, int64_t* segments) const;

  std::string dir_;
  Manifest manifest_;
  std::vector<Shard> shards_;
  int64_t seq_len_;
  uint64_t seed_;
  bool block_causal_;
  int64_t total_tokens_ = 0;
  int64_t windows_ = 0;
};

}  // namespace zen
