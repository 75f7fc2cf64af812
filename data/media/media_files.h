// Zen-Omni's media beside the token shards (layout in data/shards/shard_manifest.h): written by `zen data
// prepare` document by document, in the order the shards hold the documents, and read in place
// (memory-mapped) by the loader.
#pragma once

#include <cstdint>
#include <string>

#include "data/media/media.h"
#include "data/shards/hashed_file.h"
#include "data/shards/shard_manifest.h"

namespace zen {

inline constexpr char kMediaImages[] = "media.images";
inline constexpr char kMediaFrames[] = "media.frames";
inline constexpr char kMediaAudios[] = "media.audios";
inline constexpr char kMediaIndex[] = "media.index";
inline constexpr int kMediaIndexWidth = 3;  // images, frames, audios before a document

// Bytes of one stored image, frame or audio of a shape.
inline int64_t ImageBytes(const MediaShape& s) { return 3 * s.image_size * s.image_size; }
inline int64_t FrameBytes(const MediaShape& s) { return 3 * s.video_size * s.video_size; }
inline int64_t AudioBytes(const MediaShape& s) { return 4 * s.mel_bins * s.chunk_frames; }

class MediaWriter {
 public:
  MediaWriter(std::string dir, MediaShape shape) : dir_(std::move(dir)), shape_(std::move(shape)) {}

  // The next document's media (often none).
  absl::Status Add(const RecordMedia& media);
  // Closes the files; the manifest's media section.
  absl::StatusOr<MediaEntry> Finish();

 private:
  absl::Status Open();
  absl::Status WriteIndex();

  std::string dir_;
  MediaShape shape_;
  HashedFile images_, frames_, audios_, index_;
  MediaEntry entry_;
};

// The mapped media a loader reads rows' media from (memory borrowed from the mappings).
struct MediaArrays {
  MediaShape shape;
  const uint8_t* images = nullptr;  // (images, 3, image_size, image_size)
  const uint8_t* frames = nullptr;  // (frames, 3, video_size, video_size)
  const float* audios = nullptr;    // (audios, mel_bins, chunk_frames)
  const uint64_t* index = nullptr;  // (documents + 1, 3)
};

}  // namespace zen
