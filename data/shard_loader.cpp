#include "data/shard_loader.h"

#include <algorithm>

#include "data/sha256.h"
#include "data/worker_pool.h"

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

}  // namespace

ShardDataSource::ShardDataSource(std::string dir, Manifest manifest, std::vector<Shard> shards,
                                 const ShardLoaderOptions& o)
    : dir_(std::move(dir)),
      manifest_(std::move(manifest)),
      shards_(std::move(shards)),
      rows_(Spans(shards_), o.seq_len, o.seed, o.block_causal, o.held_out_fraction) {}

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
  int64_t total_tokens = 0;
  for (const ShardEntry& e : manifest.shards) {
    Shard s;
    ZEN_ASSIGN_OR_RETURN(s.ids, MapChecked(o.dir, e.ids, 4 * e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.mask, MapChecked(o.dir, e.mask, e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.docs, MapChecked(o.dir, e.docs, 8 * (e.documents + 1)));
    ZEN_RETURN_IF_ERROR(CheckOffsets(absl::StrCat(o.dir, "/", e.docs.name), s.docs.As<uint64_t>(), e.documents, e.tokens));
    s.tokens = e.tokens;
    s.documents = e.documents;
    total_tokens += e.tokens;
    shards.push_back(std::move(s));
  }
  if (total_tokens != manifest.tokens || total_tokens == 0) {
    return BadInput(absl::StrCat(o.dir, "/", kManifestFile, ": its shards hold ", total_tokens, " tokens, it says ",
                                 manifest.tokens));
  }
  if (o.verify_sha256) {
    // Every file hashed in parallel; the first mismatch in manifest order is reported.
    std::vector<std::pair<const ShardFile*, const MappedFile*>> files;
    for (size_t k = 0; k < shards.size(); ++k) {
      files.push_back({&manifest.shards[k].ids, &shards[k].ids});
      files.push_back({&manifest.shards[k].mask, &shards[k].mask});
      files.push_back({&manifest.shards[k].docs, &shards[k].docs});
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
      new ShardDataSource(o.dir, std::move(manifest), std::move(shards), o));
}

absl::Status ShardDataSource::CheckVocab(int64_t vocab) const {
  if (manifest_.max_token_id < vocab) return absl::OkStatus();
  return BadInput(absl::StrCat(dir_, ": holds token id ", manifest_.max_token_id, ", outside the model's vocabulary (",
                               vocab, " ids); it was prepared with ", manifest_.tokenizer_path, " (",
                               manifest_.vocab_size, " ids)"));
}

}  // namespace zen
