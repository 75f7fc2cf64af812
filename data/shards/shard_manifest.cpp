#include "data/shards/shard_manifest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace zen {
namespace {

using Json = nlohmann::json;

Json FileToJson(const ShardFile& f) { return {{"name", f.name}, {"bytes", f.bytes}, {"sha256", f.sha256}}; }

Json MediaToJson(const MediaEntry& e) {
  return {{"shape", e.shape},
          {"images", e.images},
          {"frames", e.frames},
          {"videos", e.videos},
          {"audios", e.audios},
          {"files",
           {{"images", FileToJson(e.images_file)},
            {"frames", FileToJson(e.frames_file)},
            {"audios", FileToJson(e.audios_file)},
            {"index", FileToJson(e.index_file)}}}};
}

Json ToJson(const Manifest& m) {
  Json shards = Json::array();
  for (const ShardEntry& s : m.shards) {
    shards.push_back({{"documents", s.documents}, {"tokens", s.tokens}, {"ids", FileToJson(s.ids)},
                      {"mask", FileToJson(s.mask)}, {"docs", FileToJson(s.docs)}});
  }
  Json json = {{"format", kShardFormat},
          {"tokenizer", {{"fingerprint", m.tokenizer}, {"path", m.tokenizer_path}, {"vocab_size", m.vocab_size}}},
          {"documents", m.documents},
          {"tokens", m.tokens},
          {"loss_tokens", m.loss_tokens},
          {"max_token_id", m.max_token_id},
          {"skipped_records", m.skipped_records},
          {"options", m.options},
          {"shards", shards}};
  if (m.media) json["media"] = MediaToJson(*m.media);
  return json;
}

// Reads json[key] into *out; the error names the key's path.
template <typename T>
absl::Status Get(const Json& json, const std::string& path, const char* key, T* out) {
  if (!json.is_object() || !json.contains(key)) return BadInput(absl::StrCat(path, key, ": missing"));
  try {
    *out = json[key].get<T>();
  } catch (const Json::exception&) {
    return BadInput(absl::StrCat(path, key, ": unexpected value ", json[key].dump()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ShardFile> FileFromJson(const Json& json, const std::string& path) {
  ShardFile f;
  ZEN_RETURN_IF_ERROR(Get(json, path, "name", &f.name));
  ZEN_RETURN_IF_ERROR(Get(json, path, "bytes", &f.bytes));
  ZEN_RETURN_IF_ERROR(Get(json, path, "sha256", &f.sha256));
  if (f.name.empty() || f.name.find('/') != std::string::npos) return BadInput(absl::StrCat(path, "name: not a file name"));
  return f;
}

absl::StatusOr<ShardEntry> ShardFromJson(const Json& json, const std::string& path) {
  ShardEntry s;
  ZEN_RETURN_IF_ERROR(Get(json, path, "documents", &s.documents));
  ZEN_RETURN_IF_ERROR(Get(json, path, "tokens", &s.tokens));
  const std::pair<const char*, ShardFile*> files[] = {{"ids", &s.ids}, {"mask", &s.mask}, {"docs", &s.docs}};
  for (auto [key, file] : files) {
    if (!json.contains(key)) return BadInput(absl::StrCat(path, key, ": missing"));
    ZEN_ASSIGN_OR_RETURN(*file, FileFromJson(json[key], absl::StrCat(path, key, ".")));
  }
  return s;
}

absl::StatusOr<MediaEntry> MediaFromJson(const Json& json) {
  MediaEntry e;
  if (!json.contains("shape") || !json["shape"].is_object()) return BadInput("media.shape: expected an object");
  e.shape = json["shape"];
  for (auto [key, count] : {std::pair{"images", &e.images}, std::pair{"frames", &e.frames},
                            std::pair{"videos", &e.videos}, std::pair{"audios", &e.audios}}) {
    ZEN_RETURN_IF_ERROR(Get(json, "media.", key, count));
  }
  if (!json.contains("files")) return BadInput("media.files: missing");
  const std::pair<const char*, ShardFile*> files[] = {{"images", &e.images_file}, {"frames", &e.frames_file},
                                                      {"audios", &e.audios_file}, {"index", &e.index_file}};
  for (auto [key, file] : files) {
    if (!json["files"].contains(key)) return BadInput(absl::StrCat("media.files.", key, ": missing"));
    ZEN_ASSIGN_OR_RETURN(*file, FileFromJson(json["files"][key], absl::StrCat("media.files.", key, ".")));
  }
  return e;
}

absl::StatusOr<Manifest> FromJson(const Json& json) {
  Manifest m;
  std::string format;
  ZEN_RETURN_IF_ERROR(Get(json, "", "format", &format));
  if (format != kShardFormat) return BadInput(absl::StrCat("format: expected ", kShardFormat, ", got ", format));
  if (!json.contains("tokenizer")) return BadInput("tokenizer: missing");
  ZEN_RETURN_IF_ERROR(Get(json["tokenizer"], "tokenizer.", "fingerprint", &m.tokenizer));
  ZEN_RETURN_IF_ERROR(Get(json["tokenizer"], "tokenizer.", "path", &m.tokenizer_path));
  ZEN_RETURN_IF_ERROR(Get(json["tokenizer"], "tokenizer.", "vocab_size", &m.vocab_size));
  ZEN_RETURN_IF_ERROR(Get(json, "", "documents", &m.documents));
  ZEN_RETURN_IF_ERROR(Get(json, "", "tokens", &m.tokens));
  ZEN_RETURN_IF_ERROR(Get(json, "", "loss_tokens", &m.loss_tokens));
  ZEN_RETURN_IF_ERROR(Get(json, "", "max_token_id", &m.max_token_id));
  ZEN_RETURN_IF_ERROR(Get(json, "", "skipped_records", &m.skipped_records));
  m.options = json.value("options", Json::object());
  if (!json.contains("shards") || !json["shards"].is_array()) return BadInput("shards: expected a list");
  for (size_t i = 0; i < json["shards"].size(); ++i) {
    ZEN_ASSIGN_OR_RETURN(ShardEntry s, ShardFromJson(json["shards"][i], absl::StrCat("shards[", i, "].")));
    m.shards.push_back(std::move(s));
  }
  if (json.contains("media")) {
    ZEN_ASSIGN_OR_RETURN(m.media, MediaFromJson(json["media"]));
  }
  return m;
}

}  // namespace

absl::Status WriteManifest(const std::string& dir, const Manifest& manifest) {
  const std::string path = absl::StrCat(dir, "/", kManifestFile), temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << ToJson(manifest).dump(2) << "\n";
    if (!out.flush()) return absl::InternalError(absl::StrCat(temporary, ": write failed"));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::InternalError(absl::StrCat(path, ": ", error.message()));
  return absl::OkStatus();
}

absl::StatusOr<Manifest> ReadManifest(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kManifestFile);
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat(path, ": cannot open (is ", dir, " a folder written by `zen data prepare`?)"));
  const Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return BadInput(absl::StrCat(path, ": not valid JSON"));
  absl::StatusOr<Manifest> manifest = FromJson(json);
  if (!manifest.ok()) return Annotate(manifest.status(), path);
  return manifest;
}

}  // namespace zen
