// The shapes Zen-Omni's media and placeholder runs take, from the model (data/media/media.h uses them to
// prepare records; the manifest records them so that training can check its model takes the same).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/recipe.h"
#include "core/status.h"

namespace zen {

// What preparation needs from the model, recorded in the manifest so that training can check that its
// model takes the same shapes. A modality whose encoder the model lacks has has_* false and is refused.
struct MediaShape {
  bool has_vision = false, has_audio = false;
  int64_t image_size = 0, video_size = 0, video_frames = 0;  // pixels a side; most frames of a video
  int64_t mel_bins = 0, chunk_frames = 0;
  int64_t image_tokens = 0, frame_tokens = 0, audio_tokens = 0;  // placeholder ids per image / frame / audio
  int64_t image_token_id = -1, video_token_id = -1, audio_token_id = -1;

  static MediaShape FromModel(const ModelSpec& model);
  nlohmann::json ToJson() const;
  static absl::StatusOr<MediaShape> FromJson(const nlohmann::json& json);  // errors name the key
  bool operator==(const MediaShape& other) const { return ToJson() == other.ToJson(); }
  // "image_size 28 vs 1008, ..." (this one's value, then the other's) for the keys that differ; "" when equal.
  std::string Differences(const MediaShape& other) const;
};

}  // namespace zen
