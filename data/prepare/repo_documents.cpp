#include "data/prepare/repo_documents.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/common/mix_random.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<std::vector<RepoFile>> FilesOf(const Json& record) {
  if (!record.contains("files") || !record["files"].is_array()) return BadInput("files: expected a list");
  std::vector<RepoFile> files;
  for (size_t i = 0; i < record["files"].size(); ++i) {
    const Json& f = record["files"][i];
    for (const char* key : {"path", "content"}) {
      if (!f.is_object() || !f.contains(key) || !f[key].is_string()) {
        return BadInput(absl::StrCat("files[", i, "].", key, ": expected a string"));
      }
    }
    files.push_back({f["path"].get<std::string>(), f["content"].get<std::string>()});
  }
  return files;
}

// Adds the files under root/relative (opendir rather than std::filesystem's iterators: libtorch exports its
// own copy of std::filesystem, which the dynamic linker may prefer).
absl::Status AddFolder(const std::string& root, const std::string& relative, std::vector<RepoFile>& files) {
  const std::string dir = relative.empty() ? root : absl::StrCat(root, "/", relative);
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return BadInput(absl::StrCat(dir, ": ", std::strerror(errno)));
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);  // also . and ..
  }
  ::closedir(handle);
  for (const std::string& name : names) {
    const std::string path = relative.empty() ? name : absl::StrCat(relative, "/", name);
    const std::string full = absl::StrCat(root, "/", path);
    struct stat info;
    // lstat: a symbolic link (dangling, to a folder above, or to files listed elsewhere) is left out.
    if (::lstat(full.c_str(), &info) != 0) return BadInput(absl::StrCat(full, ": ", std::strerror(errno)));
    if (S_ISLNK(info.st_mode)) continue;
    if (S_ISDIR(info.st_mode)) {
      ZEN_RETURN_IF_ERROR(AddFolder(root, path, files));
      continue;
    }
    if (!S_ISREG(info.st_mode)) continue;
    std::ifstream in(full, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return BadInput(absl::StrCat(full, ": cannot read the file"));
    std::string text = content.str();
    if (text.find('\0') != std::string::npos) continue;  // a binary file
    files.push_back({path, std::move(text)});
  }
  return absl::OkStatus();
}

}  // namespace

Json RepoRecordJson(const std::string& name, std::vector<RepoFile> files) {
  std::stable_sort(files.begin(), files.end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  Json out = {{"repo", name}, {"files", Json::array()}};
  for (RepoFile& f : files) out["files"].push_back({{"path", std::move(f.path)}, {"content", std::move(f.content)}});
  return out;
}

absl::StatusOr<std::vector<TokenizedDocument>> EncodeRepository(const Tokenizer& tokenizer, const Json& record,
                                                                const FimOptions& fim, uint64_t record_index,
                                                                int64_t max_tokens, int32_t end_of_text) {
  if (!record.is_object() || !record.contains("repo") || !record["repo"].is_string()) {
    return BadInput("repo: expected a string (the repository's name)");
  }
  ZEN_ASSIGN_OR_RETURN(const std::vector<RepoFile> files, FilesOf(record));
  // Pieces start with a special token, so tokenizing them one by one gives the ids of the whole text.
  const std::vector<int32_t> header = tokenizer.Encode(absl::StrCat(kRepoName, record["repo"].get<std::string>(), "\n"));
  const int64_t end = end_of_text >= 0 ? 1 : 0;
  std::vector<TokenizedDocument> docs;
  TokenizedDocument doc;
  size_t files_in_doc = 0;
  auto close = [&] {
    if (end_of_text >= 0) doc.ids.push_back(end_of_text);
    doc.mask.assign(doc.ids.size(), 1);
    docs.push_back(std::move(doc));
    doc = {};
    files_in_doc = 0;
  };
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string content = MaybeRearrangeForFim(files[f].content, fim, SplitMix64(record_index) + f);
    const std::vector<int32_t> piece = tokenizer.Encode(absl::StrCat(kFileSep, files[f].path, "\n", content, "\n"));
    const auto length = static_cast<int64_t>(doc.ids.size() + piece.size()) + end;
    if (files_in_doc > 0 && max_tokens > 0 && length > max_tokens) close();
    if (files_in_doc == 0) doc.ids = header;
    doc.ids.insert(doc.ids.end(), piece.begin(), piece.end());
    ++files_in_doc;
  }
  if (files_in_doc > 0) close();
  return docs;
}

absl::StatusOr<std::vector<RepoFile>> ReadRepositoryFolder(const std::string& dir) {
  std::vector<RepoFile> files;
  ZEN_RETURN_IF_ERROR(AddFolder(dir, "", files));
  return files;
}

}  // namespace zen
