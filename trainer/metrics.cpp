#include "trainer/metrics.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

absl::Status IoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

// dump() with invalid UTF-8 replaced rather than thrown: a metric must never end a run.
std::string Dump(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsLog>> MetricsLog::Open(const std::string& output_dir) {
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", output_dir, ": ", ec.message()));
  std::string path = output_dir + "/metrics.jsonl";
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return IoError("open", path);
  return std::unique_ptr<MetricsLog>(new MetricsLog(std::move(path), file));
}

MetricsLog::~MetricsLog() { std::fclose(file_); }

void MetricsLog::Write(const nlohmann::json& record) {
  const std::string line = Dump(record, -1) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
                  std::fflush(file_) == 0;
  if (!ok && error_.ok()) error_ = IoError("write", path_);
}

absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const std::string text = Dump(value, 2) + "\n";
  std::FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) return IoError("create", tmp);
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  ok = (std::fflush(file) == 0) && ok;
  ok = (fsync(fileno(file)) == 0) && ok;  // the data is on disk before the name points at it
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) {
    absl::Status error = IoError("write", tmp);
    std::remove(tmp.c_str());
    return error;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status error = IoError(absl::StrCat("rename ", tmp, " to"), path);
    std::remove(tmp.c_str());
    return error;
  }
  return absl::OkStatus();
}

}  // namespace zen
