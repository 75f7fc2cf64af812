#include "checkpoints/base_fingerprint.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>

#include "checkpoints/hf_checkpoint.h"  // defines: HfWeightFiles
#include "core/status.h"                // defines: BadInput, ZEN_ASSIGN_OR_RETURN
#include "data/common/sha256.h"         // defines: Sha256

namespace zen {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBlock = 64 << 10;
constexpr int64_t kBlocks = 16;

// A safetensors file starts with its header's length (u64, little-endian) and the JSON header.
absl::StatusOr<std::string> HeaderSha256(std::ifstream& in, int64_t bytes, const std::string& path) {
  uint64_t length = 0;
  in.seekg(0);
  if (bytes < 8 || !in.read(reinterpret_cast<char*>(&length), 8) || length > static_cast<uint64_t>(bytes - 8)) {
    return BadInput(absl::StrCat(path, ": not a safetensors file (no header)"));
  }
  std::string header(length, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(length))) return BadInput(absl::StrCat(path, ": cannot read"));
  return Sha256Hex(header);
}

// sha256 over kBlocks blocks of kBlock bytes at evenly spaced offsets (the whole file when it is smaller).
absl::StatusOr<std::string> SampleSha256(std::ifstream& in, int64_t bytes, const std::string& path) {
  Sha256 digest;
  std::string block;
  const bool whole = bytes <= kBlock * kBlocks;
  for (int64_t i = 0; i < (whole ? 1 : kBlocks); ++i) {
    const int64_t offset = whole ? 0 : i * (bytes - kBlock) / (kBlocks - 1);
    block.resize(static_cast<size_t>(whole ? bytes : kBlock));
    in.clear();
    in.seekg(offset);
    if (!in.read(block.data(), static_cast<std::streamsize>(block.size()))) {
      return BadInput(absl::StrCat(path, ": cannot read"));
    }
    digest.Update(block);
  }
  return digest.HexDigest();
}

absl::StatusOr<BaseFile> FingerprintFile(const std::string& folder, const std::string& name) {
  const std::string path = (fs::path(folder) / name).string();
  std::error_code error;
  const auto bytes = static_cast<int64_t>(fs::file_size(path, error));
  std::ifstream in(path, std::ios::binary);
  if (error || !in) return BadInput(absl::StrCat(path, ": cannot read"));
  BaseFile f;
  f.name = name;
  f.bytes = bytes;
  if (fs::path(name).extension() == ".safetensors") { ZEN_ASSIGN_OR_RETURN(f.header_sha256, HeaderSha256(in, bytes, path)); }
  ZEN_ASSIGN_OR_RETURN(f.sample_sha256, SampleSha256(in, bytes, path));
  return f;
}

// What differs between a file as saved and as it is now, or "" when nothing does.
std::string Difference(const BaseFile& saved, const BaseFile& now) {
  if (saved.bytes != now.bytes) return absl::StrCat("its size is ", now.bytes, " bytes, was ", saved.bytes);
  if (saved.header_sha256 != now.header_sha256) return "its safetensors header (tensor names, dtypes or shapes) differs";
  if (saved.sample_sha256 != now.sample_sha256) return "its contents differ (sampled blocks)";
  return "";
}

}  // namespace

absl::StatusOr<std::vector<BaseFile>> FingerprintHfFolder(const std::string& folder) {
  ZEN_ASSIGN_OR_RETURN(const std::vector<std::string> names, HfWeightFiles(folder));
  std::vector<BaseFile> files;
  for (const std::string& name : names) {
    ZEN_ASSIGN_OR_RETURN(BaseFile f, FingerprintFile(folder, name));
    files.push_back(std::move(f));
  }
  return files;
}

absl::Status CheckSameBase(const std::string& folder, const std::vector<BaseFile>& now,
                           const std::vector<BaseFile>& saved, const std::string& checkpoint) {
  const std::string intro = absl::StrCat("model.checkpoint: ", folder, "/");
  const std::string outro = absl::StrCat(" since ", checkpoint, " was trained on it (an adapter-only checkpoint: its "
                                         "adapters fit only that base); restore the base or train afresh");
  std::map<std::string, const BaseFile*> current;
  for (const BaseFile& f : now) current[f.name] = &f;
  for (const BaseFile& was : saved) {
    auto it = current.find(was.name);
    if (it == current.end()) return BadInput(absl::StrCat(intro, was.name, " is gone", outro));
    const std::string difference = Difference(was, *it->second);
    if (!difference.empty()) return BadInput(absl::StrCat(intro, was.name, " changed: ", difference, outro));
    current.erase(it);
  }
  if (!current.empty()) return BadInput(absl::StrCat(intro, current.begin()->first, " is new", outro));
  return absl::OkStatus();
}

absl::Status CheckBaseOf(const CheckpointReader& reader, const std::string& base_folder) {
  const CheckpointManifest& m = reader.manifest();
  if (!m.AdapterOnly()) return absl::OkStatus();
  if (base_folder.empty()) {
    return BadInput(absl::StrCat("model.checkpoint: unset, but ", reader.dir(), " is an adapter-only checkpoint: name "
                                 "the Hugging Face folder of the base it was trained on"));
  }
  ZEN_ASSIGN_OR_RETURN(const std::vector<BaseFile> now, FingerprintHfFolder(base_folder));
  return CheckSameBase(base_folder, now, m.base_files, reader.dir());
}

}  // namespace zen
