#include "data/media/media.h"

#include "absl/strings/str_join.h"
#include "data/media/audio.h"
#include "data/media/image.h"

namespace zen {
namespace {

using Json = nlohmann::json;

// The shape's fields by name, for JSON and for naming differences.
std::vector<std::pair<const char*, int64_t>> Fields(const MediaShape& s) {
  return {{"image_size", s.image_size},         {"video_size", s.video_size},         {"video_frames", s.video_frames},
          {"mel_bins", s.mel_bins},             {"chunk_frames", s.chunk_frames},     {"image_tokens", s.image_tokens},
          {"frame_tokens", s.frame_tokens},     {"audio_tokens", s.audio_tokens},     {"image_token_id", s.image_token_id},
          {"video_token_id", s.video_token_id}, {"audio_token_id", s.audio_token_id}, {"has_vision", s.has_vision},
          {"has_audio", s.has_audio}};
}

int64_t CountMarker(const std::vector<ChatTurn>& turns, const std::string& marker) {
  int64_t count = 0;
  for (const ChatTurn& turn : turns) {
    for (size_t at = turn.content.find(marker); at != std::string::npos; at = turn.content.find(marker, at + marker.size())) {
      ++count;
    }
  }
  return count;
}

// record[key] as a list (of strings, or of lists of strings for videos); absent = empty.
absl::StatusOr<Json> List(const Json& record, const char* key) {
  if (!record.contains(key)) return Json::array();
  if (!record[key].is_array()) return BadInput(absl::StrCat(key, ": expected a list"));
  return record[key];
}

absl::StatusOr<std::string> PathAt(const Json& list, const std::string& where, const std::string& base_dir) {
  if (!list.is_string()) return BadInput(absl::StrCat(where, ": expected a file path (a string)"));
  const std::string& path = list.get_ref<const std::string&>();
  return path.empty() || path[0] == '/' || base_dir.empty() ? path : absl::StrCat(base_dir, "/", path);
}

// "<image> occurs 2 times in the messages but images has 1 entry".
absl::Status CheckCount(const std::vector<ChatTurn>& turns, const char* marker, const char* key, size_t entries) {
  const int64_t markers = CountMarker(turns, marker);
  if (markers == static_cast<int64_t>(entries)) return absl::OkStatus();
  return BadInput(absl::StrCat(marker, " occurs ", markers, " time", markers == 1 ? "" : "s", " in the messages but ",
                               key, " has ", entries, " entr", entries == 1 ? "y" : "ies"));
}

absl::Status RequireEncoder(bool present, size_t entries, const char* key, const char* encoder) {
  if (present || entries == 0) return absl::OkStatus();
  return BadInput(absl::StrCat(key, ": the model has no ", encoder, " encoder (model.", encoder, ".layers is 0)"));
}

}  // namespace

MediaShape MediaShape::FromModel(const ModelSpec& m) {
  MediaShape s;
  s.has_vision = m.vision.layers > 0;
  s.has_audio = m.audio.layers > 0;
  s.image_size = m.vision.image_size;
  s.video_size = m.vision.video_size;
  s.video_frames = m.vision.video_frames;
  s.mel_bins = m.audio.mel_bins;
  s.chunk_frames = m.audio.chunk_frames;
  s.image_tokens = m.vision.ImageTokens();
  s.frame_tokens = m.vision.FrameTokens();
  s.audio_tokens = m.audio.AudioTokens();
  s.image_token_id = m.image_token_id;
  s.video_token_id = m.video_token_id;
  s.audio_token_id = m.audio_token_id;
  return s;
}

Json MediaShape::ToJson() const {
  Json json = Json::object();
  for (auto [key, value] : Fields(*this)) json[key] = value;
  json["has_vision"] = has_vision;
  json["has_audio"] = has_audio;
  return json;
}

absl::StatusOr<MediaShape> MediaShape::FromJson(const Json& json) {
  MediaShape s;
  const std::pair<const char*, int64_t*> ints[] = {
      {"image_size", &s.image_size},     {"video_size", &s.video_size},         {"video_frames", &s.video_frames},
      {"mel_bins", &s.mel_bins},         {"chunk_frames", &s.chunk_frames},     {"image_tokens", &s.image_tokens},
      {"frame_tokens", &s.frame_tokens}, {"audio_tokens", &s.audio_tokens},     {"image_token_id", &s.image_token_id},
      {"video_token_id", &s.video_token_id}, {"audio_token_id", &s.audio_token_id}};
  for (auto [key, field] : ints) {
    if (!json.contains(key) || !json[key].is_number_integer()) return BadInput(absl::StrCat("shape.", key, ": expected an integer"));
    *field = json[key].get<int64_t>();
  }
  for (auto [key, field] : {std::pair{"has_vision", &s.has_vision}, std::pair{"has_audio", &s.has_audio}}) {
    if (!json.contains(key) || !json[key].is_boolean()) return BadInput(absl::StrCat("shape.", key, ": expected true or false"));
    *field = json[key].get<bool>();
  }
  return s;
}

std::string MediaShape::Differences(const MediaShape& other) const {
  std::vector<std::string> differences;
  const auto mine = Fields(*this), theirs = Fields(other);
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i].second != theirs[i].second) {
      differences.push_back(absl::StrCat(mine[i].first, " ", mine[i].second, " vs ", theirs[i].second));
    }
  }
  return absl::StrJoin(differences, ", ");
}

bool HasMediaKeys(const Json& record) {
  return record.is_object() && (record.contains("images") || record.contains("audios") || record.contains("videos"));
}

absl::Status LoadRecordMedia(const Json& record, const std::vector<ChatTurn>& turns, const std::string& base_dir,
                             const MediaShape& shape, RecordMedia* media, std::vector<MediaPlaceholder>* placeholders) {
  ZEN_ASSIGN_OR_RETURN(const Json images, List(record, "images"));
  ZEN_ASSIGN_OR_RETURN(const Json videos, List(record, "videos"));
  ZEN_ASSIGN_OR_RETURN(const Json audios, List(record, "audios"));
  ZEN_RETURN_IF_ERROR(CheckCount(turns, kImageMarker, "images", images.size()));
  ZEN_RETURN_IF_ERROR(CheckCount(turns, kVideoMarker, "videos", videos.size()));
  ZEN_RETURN_IF_ERROR(CheckCount(turns, kAudioMarker, "audios", audios.size()));
  ZEN_RETURN_IF_ERROR(RequireEncoder(shape.has_vision, images.size() + videos.size(), "images / videos", "vision"));
  ZEN_RETURN_IF_ERROR(RequireEncoder(shape.has_audio, audios.size(), "audios", "audio"));
  MediaPlaceholder image{kImageMarker, static_cast<int32_t>(shape.image_token_id), {}};
  MediaPlaceholder video{kVideoMarker, static_cast<int32_t>(shape.video_token_id), {}};
  MediaPlaceholder audio{kAudioMarker, static_cast<int32_t>(shape.audio_token_id), {}};
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string where = absl::StrCat("images[", i, "]");
    ZEN_ASSIGN_OR_RETURN(const std::string path, PathAt(images[i], where, base_dir));
    absl::StatusOr<torch::Tensor> pixels = LoadImage(path, shape.image_size);
    if (!pixels.ok()) return Annotate(pixels.status(), where);
    media->images.push_back(*std::move(pixels));
    image.runs.push_back(shape.image_tokens);
  }
  for (size_t v = 0; v < videos.size(); ++v) {
    const std::string where = absl::StrCat("videos[", v, "]");
    const Json& frames = videos[v];
    if (!frames.is_array() || frames.empty() || static_cast<int64_t>(frames.size()) > shape.video_frames) {
      return BadInput(absl::StrCat(where, ": expected a list of 1 to ", shape.video_frames,
                                   " frame paths (model.vision.video_frames)"));
    }
    for (size_t f = 0; f < frames.size(); ++f) {
      const std::string frame = absl::StrCat(where, "[", f, "]");
      ZEN_ASSIGN_OR_RETURN(const std::string path, PathAt(frames[f], frame, base_dir));
      absl::StatusOr<torch::Tensor> pixels = LoadImage(path, shape.video_size);
      if (!pixels.ok()) return Annotate(pixels.status(), frame);
      media->frames.push_back(*std::move(pixels));
    }
    media->video_lengths.push_back(static_cast<int64_t>(frames.size()));
    video.runs.push_back(static_cast<int64_t>(frames.size()) * shape.frame_tokens);
  }
  for (size_t i = 0; i < audios.size(); ++i) {
    const std::string where = absl::StrCat("audios[", i, "]");
    ZEN_ASSIGN_OR_RETURN(const std::string path, PathAt(audios[i], where, base_dir));
    absl::StatusOr<torch::Tensor> mel = LoadAudio(path, shape.mel_bins, shape.chunk_frames);
    if (!mel.ok()) return Annotate(mel.status(), where);
    media->audios.push_back(*std::move(mel));
    audio.runs.push_back(shape.audio_tokens);
  }
  *placeholders = {image, video, audio};
  return absl::OkStatus();
}

}  // namespace zen
