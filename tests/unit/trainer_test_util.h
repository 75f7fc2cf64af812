// Helpers for the trainer tests: scratch folders and Python oracles run with the project's venv.
#pragma once

#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace zen::testing {

// rm -rf. Not std::filesystem::remove_all: the torch wheel exports its own statically linked copy of
// libstdc++'s filesystem functions, and its remove_all jumps to a null pointer (pytorch/pytorch#133437).
inline void RemoveTree(const std::string& path) {
  nftw(path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return std::remove(p); },
       16, FTW_DEPTH | FTW_PHYS);
}

// A fresh, empty folder under the system temp dir, removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = (std::filesystem::temp_directory_path() /
             ("zen_" + name + "_" + std::to_string(getpid())))
                .string();
    RemoveTree(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { RemoveTree(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct PythonRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together, for the failure message
};

// Runs `script` (Python source) with ZEN_PYTHON and `args`; the script lands in `dir`.
inline PythonRun RunPython(const std::string& dir, const std::string& script,
                           const std::vector<std::string>& args = {}) {
  const std::string script_path = dir + "/oracle.py";
  WriteText(script_path, script);
  std::string command = std::string(ZEN_PYTHON) + " '" + script_path + "'";
  for (const std::string& a : args) command += " '" + a + "'";
  command += " 2>&1";
  PythonRun run;
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A raw little-endian fp32 file (numpy's tofile) as a tensor of `shape`.
inline torch::Tensor ReadFloat32(const std::string& path, at::IntArrayRef shape) {
  const std::string bytes = ReadText(path);
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  if (bytes.size() != static_cast<size_t>(t.numel()) * sizeof(float)) {
    throw std::runtime_error(path + ": size does not match the shape");
  }
  std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
  return t;
}

}  // namespace zen::testing
