// The folder `zen data prepare` writes, described by its manifest.json:
//   shard-NNNNN.ids   uint32 little-endian token ids, documents back to back
//   shard-NNNNN.mask  uint8 per token: 1 = trained on (see data/shards/document.h)
//   shard-NNNNN.docs  uint64 little-endian offsets into the shard's tokens: 0, end of document 0, ...,
//                     so documents + 1 entries
//   manifest.json     counts, each file's size and sha256, the tokenizer's fingerprint; written last,
//                     so a folder without it is an unfinished preparation
// A document never spans two shards.
// Zen-Omni's data (prepared with a multimodal model's recipe) adds media beside the shards, for the
// documents of all shards in order (data/media/media_files.h):
//   media.images  uint8 (3, S, S) per image, S = image_size; media.frames likewise per video frame
//   media.audios  float32 (mel_bins, chunk_frames) per audio
//   media.index   uint64, (documents + 1) x 3: images, frames and audios before each document
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace zen {

inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kShardFormat[] = "zen-token-shards/1";

struct ShardFile {
  std::string name;  // relative to the folder
  int64_t bytes = 0;
  std::string sha256;
};

struct ShardEntry {
  ShardFile ids, mask, docs;
  int64_t documents = 0;
  int64_t tokens = 0;
};

// The media section of a manifest (absent for text-only data).
struct MediaEntry {
  nlohmann::json shape;  // data/media/media.h's MediaShape: sizes and placeholder ids prepared for
  int64_t images = 0, frames = 0, videos = 0, audios = 0;
  ShardFile images_file, frames_file, audios_file, index_file;
};

struct Manifest {
  std::string tokenizer;       // Tokenizer::Fingerprint(): "bytes" or "sha256:<hex>"
  std::string tokenizer_path;  // as given to prepare, for people reading the manifest
  int64_t vocab_size = 0;      // of that tokenizer
  int64_t max_token_id = -1;
  int64_t documents = 0;
  int64_t tokens = 0;
  int64_t loss_tokens = 0;
  int64_t skipped_records = 0;  // malformed records skipped by --skip-bad
  nlohmann::json options;       // how it was prepared (format, loss mask, FIM, seed, inputs)
  std::vector<ShardEntry> shards;
  std::optional<MediaEntry> media;  // Zen-Omni: one training row per document, with its media
};

// Writes manifest.json atomically (a temporary file renamed over it).
absl::Status WriteManifest(const std::string& dir, const Manifest& manifest);
// Reads and checks the shape of DIR/manifest.json; errors name the file and the key.
absl::StatusOr<Manifest> ReadManifest(const std::string& dir);

}  // namespace zen
