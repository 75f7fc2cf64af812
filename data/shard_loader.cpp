#include "data/shard_loader.h"

#include <algorithm>

#include "data/mix_random.h"
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
      seq_len_(o.seq_len),
      seed_(o.seed),
      block_causal_(o.block_causal) {
  for (const Shard& s : shards_) total_tokens_ += s.tokens;
  windows_ = (total_tokens_ + seq_len_ - 1) / seq_len_;
}

absl::StatusOr<std::unique_ptr<ShardDataSource>> ShardDataSource::Open(const ShardLoaderOptions& o) {
  if (o.seq_len <= 0) return BadInput("seq_len: expected a positive number of tokens");
  ZEN_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(o.dir));
  ZEN_RETURN_IF_ERROR(CheckTokenizer(o, manifest));
  std::vector<Shard> shards;
  int64_t first_token = 0;
  for (const ShardEntry& e : manifest.shards) {
    Shard s;
    ZEN_ASSIGN_OR_RETURN(s.ids, MapChecked(o.dir, e.ids, 4 * e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.mask, MapChecked(o.dir, e.mask, e.tokens));
    ZEN_ASSIGN_OR_RETURN(s.docs, MapChecked(o.dir, e.docs, 8 * (e.documents + 1)));
    ZEN_RETURN_IF_ERROR(CheckOffsets(absl::StrCat(o.dir, "/", e.docs.name), s.docs.As<uint64_t>(), e.documents, e.tokens));
    s.first_token = first_token;
    s.tokens = e.tokens;
    s.documents = e.documents;
    first_token += e.tokens;
    shards.push_back(std::move(s));
  }
  if (first_token != manifest.tokens || first_token == 0) {
    return BadInput(absl::StrCat(o.dir, "/", kManifestFile, ": its shards hold ", first_token, " tokens, it says ",
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

void ShardDataSource::FillWindow(int64_t window, int64_t* tokens, int64_t* labels, int64_t* positions,
                                 int64_t* segments) const {
  const int64_t begin = window * seq_len_;
  auto shard = std::upper_bound(shards_.begin(), shards_.end(), begin,
                                [](int64_t token, const Shard& s) { return token < s.first_token; }) - 1;
  int64_t t = 0, segment = -1;
  for (; t < seq_len_ && shard != shards_.end(); ++shard) {
    const auto* ids = shard->ids.As<uint32_t>();
    const auto* mask = shard->mask.As<uint8_t>();
    const auto* docs = shard->docs.As<uint64_t>();
    const int64_t window_start = begin - shard->first_token;  // in shard coordinates; < 0 if in an earlier shard
    int64_t j = begin + t - shard->first_token;
    int64_t d = std::upper_bound(docs, docs + shard->documents + 1, static_cast<uint64_t>(j)) - docs - 1;
    for (; t < seq_len_ && j < shard->tokens; ++d) {
      const auto doc_end = static_cast<int64_t>(docs[d + 1]);
      const int64_t position_zero = std::max(static_cast<int64_t>(docs[d]), window_start);
      ++segment;
      for (; t < seq_len_ && j < doc_end; ++t, ++j) {
        tokens[t] = ids[j];
        positions[t] = j - position_zero;
        segments[t] = segment;
        labels[t] = j + 1 < doc_end && mask[j + 1] ? static_cast<int64_t>(ids[j + 1]) : kIgnoreLabel;
      }
    }
  }
  ++segment;  // the last window's padding: a document of its own, which earns no loss
  for (; t < seq_len_; ++t) tokens[t] = 0, labels[t] = kIgnoreLabel, positions[t] = 0, segments[t] = segment;
}

Batch ShardDataSource::Rows(int64_t first, int64_t count) const {
  auto tokens = torch::empty({count, seq_len_}, torch::kInt64);
  auto labels = torch::empty({count, seq_len_}, torch::kInt64);
  auto positions = torch::empty({count, seq_len_}, torch::kInt64);
  auto segments = torch::empty({count, seq_len_}, torch::kInt64);
  for (int64_t r = 0; r < count; ++r) {
    const int64_t row = first + r, epoch = row / windows_;
    const IndexPermutation order(static_cast<uint64_t>(windows_), SplitMix64(seed_ ^ SplitMix64(epoch)));
    const auto window = static_cast<int64_t>(order(static_cast<uint64_t>(row % windows_)));
    FillWindow(window, tokens[r].data_ptr<int64_t>(), labels[r].data_ptr<int64_t>(),
               positions[r].data_ptr<int64_t>(), segments[r].data_ptr<int64_t>());
  }
  // A batch whose rows each hold one document needs no mask beyond causal.
  const bool boundaries = segments.select(1, seq_len_ - 1).any().item<bool>();
  return {tokens, labels, positions, block_causal_ && boundaries ? segments : torch::Tensor()};
}

}  // namespace zen
