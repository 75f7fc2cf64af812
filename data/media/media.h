// Zen-Omni's multimodal chat records (../shared/CONTRACT.md): {"messages": [...], "images": [...],
// "audios": [...], "videos": [[frame, ...], ...]}, paths relative to the JSONL file. Each <image>, <audio>
// or <video> in a message's content takes the next item of its list, in order, and becomes a run of the
// model's placeholder id: ImageTokens() of image_token_id, AudioTokens() of audio_token_id, frames x
// FrameTokens() of video_token_id. This file turns a record's lists into decoded media and those runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/status.h"
#include "data/chat/chat_template.h"
#include "data/media/media_shape.h"

namespace zen {

inline constexpr char kImageMarker[] = "<image>";
inline constexpr char kVideoMarker[] = "<video>";
inline constexpr char kAudioMarker[] = "<audio>";

// One record's media, decoded, in placeholder order.
struct RecordMedia {
  std::vector<torch::Tensor> images;  // each (3, image_size, image_size) uint8, resized RGB
  std::vector<torch::Tensor> frames;  // each (3, video_size, video_size) uint8: every video's frames in a row
  std::vector<int64_t> video_lengths; // frames of each video
  std::vector<torch::Tensor> audios;  // each (mel_bins, chunk_frames) float32 log-mel
};

// True when the record has any of "images", "audios", "videos".
bool HasMediaKeys(const nlohmann::json& record);

// Checks the record's lists against the markers in `turns` (a count that differs is a bad record), decodes
// every file (relative to `base_dir`; a missing or undecodable one is an error naming it) and gives the
// placeholder runs for EncodeChat. Errors carry no file:line; the caller adds it.
absl::Status LoadRecordMedia(const nlohmann::json& record, const std::vector<ChatTurn>& turns,
                             const std::string& base_dir, const MediaShape& shape, RecordMedia* media,
                             std::vector<MediaPlaceholder>* placeholders);

}  // namespace zen
