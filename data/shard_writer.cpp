#include "data/shard_writer.h"

#include "absl/strings/str_format.h"

namespace zen {

ShardWriter::ShardWriter(std::string dir, int64_t tokens_per_shard)
    : dir_(std::move(dir)), tokens_per_shard_(tokens_per_shard) {}

ShardWriter::~ShardWriter() = default;

absl::Status ShardWriter::Write(OpenFile& f, const void* data, size_t bytes) {
  if (std::fwrite(data, 1, bytes, f.file.get()) != bytes) {
    return absl::InternalError(absl::StrCat(dir_, "/", f.info.name, ": write failed (disk full?)"));
  }
  f.hash->Update({static_cast<const char*>(data), bytes});
  f.info.bytes += static_cast<int64_t>(bytes);
  return absl::OkStatus();
}

absl::Status ShardWriter::Open() {
  const std::string stem = absl::StrFormat("shard-%05d", done_.size());
  for (auto [f, extension] : {std::pair<OpenFile*, const char*>{&ids_, ".ids"}, {&mask_, ".mask"}, {&docs_, ".docs"}}) {
    f->info = ShardFile{stem + extension, 0, ""};
    f->file.reset(std::fopen((dir_ + "/" + f->info.name).c_str(), "wb"));
    if (!f->file) return absl::InternalError(absl::StrCat(dir_, "/", f->info.name, ": cannot create"));
    std::setvbuf(f->file.get(), nullptr, _IOFBF, 1 << 20);
    f->hash = std::make_unique<Sha256>();
  }
  current_ = ShardEntry{};
  open_ = true;
  const uint64_t zero = 0;
  return Write(docs_, &zero, sizeof(zero));
}

absl::Status ShardWriter::Close() {
  for (OpenFile* f : {&ids_, &mask_, &docs_}) {
    if (std::fclose(f->file.release()) != 0) return absl::InternalError(absl::StrCat(dir_, "/", f->info.name, ": close failed"));
    f->info.sha256 = f->hash->HexDigest();
  }
  current_.ids = ids_.info;
  current_.mask = mask_.info;
  current_.docs = docs_.info;
  done_.push_back(current_);
  open_ = false;
  return absl::OkStatus();
}

absl::Status ShardWriter::Add(const TokenizedDocument& doc) {
  if (!open_) ZEN_RETURN_IF_ERROR(Open());
  ids_buffer_.assign(doc.ids.begin(), doc.ids.end());
  ZEN_RETURN_IF_ERROR(Write(ids_, ids_buffer_.data(), ids_buffer_.size() * sizeof(uint32_t)));
  ZEN_RETURN_IF_ERROR(Write(mask_, doc.mask.data(), doc.mask.size()));
  current_.tokens += static_cast<int64_t>(doc.ids.size());
  current_.documents += 1;
  const auto end = static_cast<uint64_t>(current_.tokens);
  ZEN_RETURN_IF_ERROR(Write(docs_, &end, sizeof(end)));
  if (current_.tokens >= tokens_per_shard_) ZEN_RETURN_IF_ERROR(Close());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ShardEntry>> ShardWriter::Finish() {
  if (open_) ZEN_RETURN_IF_ERROR(Close());
  return done_;
}

}  // namespace zen
