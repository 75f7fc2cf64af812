// metrics.jsonl (one JSON object per optimizer step) and small JSON files such as run.json.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zen {

class MetricsLog {
 public:
  // Opens output_dir/metrics.jsonl for appending (creating output_dir if needed): a resumed run
  // continues the file rather than replacing it.
  static absl::StatusOr<std::unique_ptr<MetricsLog>> Open(const std::string& output_dir);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends `record` as one line and flushes, so a killed run loses at most the line being written.
  // Non-finite numbers become null (JSON has no NaN). The first failed write is kept in status().
  void Write(const nlohmann::json& record);
  const absl::Status& status() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  MetricsLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}

  std::string path_;
  std::FILE* file_;
  absl::Status error_;
};

// Writes `value` (indented, newline-terminated) to path.tmp.<pid>, then renames it over `path`: a reader
// sees the old file or the new one, never half of one.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value);

}  // namespace zen
