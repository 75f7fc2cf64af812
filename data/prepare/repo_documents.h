// Repository-level code documents (Zen-Coder, `--format repo`), laid out as Qwen2.5-Coder trains them:
//
//   <|repo_name|>NAME\n<|file_sep|>PATH_1\nCONTENT_1\n<|file_sep|>PATH_2\nCONTENT_2\n ... <|endoftext|>
//
// Files in byte order of their paths; each file's content is rearranged for fill-in-the-middle on its own
// (--fim-rate, decided by the seed, the repository and the file). A repository longer than max_tokens is
// split at file boundaries into several documents, each starting with the <|repo_name|> line again; a
// single file longer than that is a document of its own (training's packing cuts it into rows).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/shards/document.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {

inline constexpr const char* kRepoName = "<|repo_name|>";
inline constexpr const char* kFileSep = "<|file_sep|>";

struct RepoFile {
  std::string path;
  std::string content;
};

// A repository record as RecordReader passes it on: {"repo": NAME, "files": [{"path", "content"}, ...]}.
nlohmann::ordered_json RepoRecordJson(const std::string& name, std::vector<RepoFile> files);

// The documents of a repository record (see above); max_tokens 0 = never split. Every token is trained.
// A record without a string "repo" or with a file lacking a string path or content is BadInput naming it.
absl::StatusOr<std::vector<TokenizedDocument>> EncodeRepository(const Tokenizer& tokenizer,
                                                                const nlohmann::ordered_json& record,
                                                                const FimOptions& fim, uint64_t record_index,
                                                                int64_t max_tokens, int32_t end_of_text);

// The files of a folder, recursively, as (path relative to the folder, content), in byte order of their
// paths; folders and files whose names start with '.' (.git, ...) and files holding a NUL byte (binaries)
// are left out. Errors name the file.
absl::StatusOr<std::vector<RepoFile>> ReadRepositoryFolder(const std::string& dir);

}  // namespace zen
