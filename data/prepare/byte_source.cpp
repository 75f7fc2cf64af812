#include "data/prepare/byte_source.h"

#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zen {
namespace {

constexpr size_t kChunk = size_t{1} << 20;

class PlainSource : public ByteSource {
 public:
  PlainSource(std::FILE* file, std::string path) : file_(file, &std::fclose), path_(std::move(path)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    const size_t got = std::fread(buffer, 1, n, file_.get());
    if (got == 0 && std::ferror(file_.get())) return BadInput(absl::StrCat(path_, ": read error"));
    return got;
  }

 private:
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::string path_;
};

class GzipSource : public ByteSource {
 public:
  GzipSource(gzFile file, std::string path) : file_(file), path_(std::move(path)) { gzbuffer(file_, kChunk); }
  ~GzipSource() override { gzclose(file_); }
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    const int got = gzread(file_, buffer, static_cast<unsigned>(n));
    if (got < 0) {
      int code = 0;
      return BadInput(absl::StrCat(path_, ": not valid gzip data (", gzerror(file_, &code), ")"));
    }
    // zlib reads a file without a gzip header as it is; a .gz name promises gzip.
    if (got > 0 && gzdirect(file_)) return BadInput(absl::StrCat(path_, ": not gzip data"));
    return static_cast<size_t>(got);
  }

 private:
  gzFile file_;
  std::string path_;
};

class ZstdSource : public ByteSource {
 public:
  ZstdSource(std::FILE* file, std::string path)
      : file_(file, &std::fclose), path_(std::move(path)), context_(ZSTD_createDCtx(), &ZSTD_freeDCtx),
        input_(ZSTD_DStreamInSize()) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    ZSTD_outBuffer out{buffer, n, 0};
    while (out.pos == 0) {
      if (in_.pos == in_.size) {
        const size_t got = std::fread(input_.data(), 1, input_.size(), file_.get());
        if (got == 0) {
          if (std::ferror(file_.get())) return BadInput(absl::StrCat(path_, ": read error"));
          if (frame_open_) return BadInput(absl::StrCat(path_, ": truncated zstd data"));
          return 0;
        }
        in_ = {input_.data(), got, 0};
      }
      const size_t left = ZSTD_decompressStream(context_.get(), &out, &in_);
      if (ZSTD_isError(left)) return BadInput(absl::StrCat(path_, ": not valid zstd data (", ZSTD_getErrorName(left), ")"));
      frame_open_ = left != 0;
    }
    return out.pos;
  }

 private:
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::string path_;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context_;
  std::vector<char> input_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_open_ = false;  // inside a frame: the file must not end here
};

bool IsZstd(const std::string& path) { return absl::EndsWith(path, ".zst") || absl::EndsWith(path, ".zstd"); }

}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> ByteSource::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return BadInput(absl::StrCat(path, ": cannot open"));
  if (absl::EndsWith(path, ".gz")) {
    std::fclose(file);
    gzFile gz = gzopen(path.c_str(), "rb");
    if (gz == nullptr) return BadInput(absl::StrCat(path, ": cannot open"));
    return std::unique_ptr<ByteSource>(new GzipSource(gz, path));
  }
  if (IsZstd(path)) return std::unique_ptr<ByteSource>(new ZstdSource(file, path));
  return std::unique_ptr<ByteSource>(new PlainSource(file, path));
}

std::string WithoutCompressionSuffix(const std::string& path) {
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    if (absl::EndsWith(path, suffix)) return path.substr(0, path.size() - std::char_traits<char>::length(suffix));
  }
  return path;
}

absl::Status LineReader::Fill() {
  buffer_.erase(0, at_);
  at_ = 0;
  const size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  ZEN_ASSIGN_OR_RETURN(const size_t got, source_->Read(buffer_.data() + old, kChunk));
  buffer_.resize(old + got);
  end_ = got == 0;
  return absl::OkStatus();
}

absl::StatusOr<bool> LineReader::Next(std::string* line) {
  size_t searched = at_;
  for (;;) {
    const size_t newline = buffer_.find('\n', searched);
    if (newline != std::string::npos) {
      line->assign(buffer_, at_, newline - at_);
      at_ = newline + 1;
      break;
    }
    if (end_) {
      if (at_ == buffer_.size()) return false;
      line->assign(buffer_, at_, std::string::npos);
      at_ = buffer_.size();
      break;
    }
    searched = buffer_.size() - at_;  // Fill() moves the unread bytes to the front
    ZEN_RETURN_IF_ERROR(Fill());
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

absl::StatusOr<std::string> LineReader::Rest() {
  while (!end_) ZEN_RETURN_IF_ERROR(Fill());
  std::string rest = buffer_.substr(at_);
  at_ = buffer_.size();
  return rest;
}

}  // namespace zen
