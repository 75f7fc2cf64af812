// Shared by the data tests: where the real Qwen3 tokenizer is, temporary folders, running a command.
#pragma once

#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace zen::testing_data {

// The folder holding Qwen3's tokenizer.json: $ZEN_QWEN3_TOKENIZER, else ../shared/data/qwen3-tokenizer
// beside the source tree; "" when neither holds one (tests then GTEST_SKIP with this reason).
inline std::string Qwen3TokenizerDir() {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(ZEN_SOURCE_DIR) / ".." / "shared" / "data" / "qwen3-tokenizer";
  if (const char* env = std::getenv("ZEN_QWEN3_TOKENIZER"); env != nullptr && *env) {
    dir = fs::is_directory(env) ? fs::path(env) : fs::path(env).parent_path();  // the folder or its tokenizer.json
  }
  return fs::exists(dir / "tokenizer.json") ? dir.lexically_normal().string() : "";
}

inline const char kNoQwen3[] =
    "Qwen3's tokenizer.json not found: set ZEN_QWEN3_TOKENIZER or put it in ../shared/data/qwen3-tokenizer/";

// A fresh folder, removed when the object goes. (Not by std::filesystem::remove_all: libtorch.so exports
// its own copy of std::filesystem, which the dynamic linker prefers, and its remove_all crashes.)
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "zen-data-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    nftw(path_.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
         FTW_DEPTH | FTW_PHYS);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command with stdout and stderr into `log`; returns its exit status.
inline int RunCommand(const std::string& command, const std::string& log) {
  const int status = std::system((command + " > " + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace zen::testing_data
