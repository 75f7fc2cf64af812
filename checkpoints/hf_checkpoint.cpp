#include "checkpoints/hf_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/safetensors.h"  // defines: ReadSafetensors, WriteSafetensors
#include "core/log.h"                 // defines: Log0
#include "core/status.h"              // defines: BadInput, ZEN_ASSIGN_OR_RETURN
#include "parallel/layers.h"          // defines: TpShard
#include "parallel/param_info.h"      // defines: ParamInfos

namespace zen {
namespace {

namespace fs = std::filesystem;

constexpr char kSingleFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

// The index's weight_map: tensor name -> shard file name.
absl::StatusOr<std::map<std::string, std::string>> ReadWeightMap(const std::string& path) {
  std::ifstream in(path);
  const auto root = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object() || !root.contains("weight_map") ||
      !root["weight_map"].is_object()) {
    return BadInput(absl::StrCat(path, ": expected a JSON object with a weight_map object"));
  }
  std::map<std::string, std::string> file_of;
  for (const auto& [name, file] : root["weight_map"].items()) {
    if (!file.is_string()) return BadInput(absl::StrCat(path, ": weight_map.", name, " is not a file name"));
    file_of[name] = file.get<std::string>();
  }
  return file_of;
}

// Qwen3-Next's checkpoints carry a multi-token-prediction head (mtp.*) that transformers ignores too; zen
// builds no such head. Says once how many of the folder's tensors it leaves.
void NoteSkippedMtp(const std::string& folder, const std::vector<std::string>& stored) {
  const auto mtp = std::count_if(stored.begin(), stored.end(), [](const std::string& n) { return n.rfind("mtp.", 0) == 0; });
  if (mtp > 0) {
    Log0(absl::StrCat(folder, ": skipping ", mtp, " mtp.* tensors (the multi-token-prediction head, which zen does not build)"));
  }
}

// The file each wanted parameter is in: file name -> parameter names.
absl::StatusOr<std::map<std::string, std::vector<std::string>>> GroupByFile(
    const std::string& folder, const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> by_file;
  const fs::path index = fs::path(folder) / kIndexFile;
  if (fs::exists(index)) {
    ZEN_ASSIGN_OR_RETURN(auto file_of, ReadWeightMap(index.string()));
    std::vector<std::string> stored;
    for (const auto& entry : file_of) stored.push_back(entry.first);
    NoteSkippedMtp(folder, stored);
    for (const auto& name : names) {
      auto it = file_of.find(name);
      if (it == file_of.end()) return BadInput(absl::StrCat(index.string(), ": no tensor ", name));
      by_file[it->second].push_back(name);
    }
    return by_file;
  }
  if (!fs::exists(fs::path(folder) / kSingleFile)) {
    return BadInput(absl::StrCat(folder, ": neither ", kSingleFile, " nor ", kIndexFile));
  }
  by_file[kSingleFile] = names;
  return by_file;
}

// Copies this rank's slice of `stored` (the full tensor) into `param`.
absl::Status CopySlice(const std::string& where, const std::string& name, const torch::Tensor& stored,
                       int64_t split_dim, const TpGroup& tp, torch::Tensor& param) {
  if (split_dim >= 0 && (split_dim >= stored.dim() || stored.size(split_dim) % tp.size != 0)) {
    return BadInput(absl::StrCat(where, ": ", name, " of shape ", c10::str(stored.sizes()),
                                 " cannot be split ", tp.size, " ways along dim ", split_dim));
  }
  const torch::Tensor slice = TpShard(stored, split_dim, tp);
  if (slice.sizes() != param.sizes()) {
    return BadInput(absl::StrCat(where, ": ", name, " has shape ", c10::str(stored.sizes()),
                                 ", the model wants ", c10::str(param.sizes()),
                                 tp.size > 1 ? absl::StrCat(" per rank of ", tp.size) : ""));
  }
  torch::NoGradGuard no_grad;
  param.copy_(slice);
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadHfWeights(const std::string& folder, torch::nn::Module& model, const TpGroup& tp) {
  auto params = model.named_parameters();
  const auto infos = ParamInfos(model);
  std::vector<std::string> names;
  for (const auto& p : params) {
    if (!infos.at(p.key()).adapter) names.push_back(p.key());  // adapters live in PEFT files
  }
  ZEN_ASSIGN_OR_RETURN(auto by_file, GroupByFile(folder, names));
  for (const auto& [file, wanted] : by_file) {
    const std::string path = (fs::path(folder) / file).string();
    ZEN_ASSIGN_OR_RETURN(auto tensors, ReadSafetensors(path));
    if (file == kSingleFile) {
      std::vector<std::string> stored;
      for (const auto& entry : tensors) stored.push_back(entry.first);
      NoteSkippedMtp(folder, stored);
    }
    for (const auto& name : wanted) {
      auto it = tensors.find(name);
      if (it == tensors.end()) return BadInput(absl::StrCat(path, ": no tensor ", name));
      ZEN_RETURN_IF_ERROR(CopySlice(path, name, it->second, infos.at(name).split_dim, tp, params[name]));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> HfWeightFiles(const std::string& folder) {
  const fs::path index = fs::path(folder) / kIndexFile;
  if (!fs::exists(index)) {
    if (!fs::exists(fs::path(folder) / kSingleFile)) {
      return BadInput(absl::StrCat(folder, ": neither ", kSingleFile, " nor ", kIndexFile));
    }
    return std::vector<std::string>{kSingleFile};
  }
  ZEN_ASSIGN_OR_RETURN(auto file_of, ReadWeightMap(index.string()));
  std::set<std::string> shards;
  for (const auto& [name, file] : file_of) shards.insert(file);
  std::vector<std::string> files = {kIndexFile};
  files.insert(files.end(), shards.begin(), shards.end());
  return files;
}

absl::Status SaveHfWeights(const std::string& folder, const torch::nn::Module& model) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) return absl::InternalError(absl::StrCat(folder, ": cannot create: ", error.message()));
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  const auto infos = ParamInfos(model);
  for (const auto& p : model.named_parameters()) {
    if (!infos.at(p.key()).adapter) tensors.emplace_back(p.key(), p.value());
  }
  return WriteSafetensors((fs::path(folder) / kSingleFile).string(), tensors, {{"format", "pt"}});
}

}  // namespace zen
