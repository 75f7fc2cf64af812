// An input file's bytes as they are read, decompressed on the way when the name says so: FILE.gz (gzip,
// zlib) or FILE.zst / FILE.zstd (zstandard, libzstd); any other file as it is.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace zen {

class ByteSource {
 public:
  // Errors (a missing file, corrupt or truncated compressed data) name the file and are BadInput.
  static absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path);
  virtual ~ByteSource() = default;
  // Up to `n` bytes into `buffer`; 0 at the end.
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t n) = 0;
};

// The path without its compression suffix ("a.jsonl.gz" -> "a.jsonl"), whose extension names the format.
std::string WithoutCompressionSuffix(const std::string& path);

// The lines of a source, without their '\n' (and a '\r' before it); a last line without '\n' counts.
class LineReader {
 public:
  explicit LineReader(std::unique_ptr<ByteSource> source) : source_(std::move(source)) {}
  // The next line into `line`; false at the end.
  absl::StatusOr<bool> Next(std::string* line);
  // The rest of the source, unsplit.
  absl::StatusOr<std::string> Rest();

 private:
  absl::Status Fill();

  std::unique_ptr<ByteSource> source_;
  std::string buffer_;
  size_t at_ = 0;  // start of the unread bytes in buffer_
  bool end_ = false;
};

}  // namespace zen
