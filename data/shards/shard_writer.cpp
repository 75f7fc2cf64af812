#include "data/shards/shard_writer.h"

#include "absl/strings/str_format.h"

namespace zen {

ShardWriter::ShardWriter(std::string dir, int64_t tokens_per_shard)
    : dir_(std::move(dir)), tokens_per_shard_(tokens_per_shard) {}

ShardWriter::~ShardWriter() = default;

absl::Status ShardWriter::Open() {
  const std::string stem = absl::StrFormat("shard-%05d", done_.size());
  ZEN_RETURN_IF_ERROR(ids_.Open(dir_, stem + ".ids"));
  ZEN_RETURN_IF_ERROR(mask_.Open(dir_, stem + ".mask"));
  ZEN_RETURN_IF_ERROR(docs_.Open(dir_, stem + ".docs"));
  current_ = ShardEntry{};
  open_ = true;
  const uint64_t zero = 0;
  return docs_.Write(&zero, sizeof(zero));
}

absl::Status ShardWriter::Close() {
  ZEN_ASSIGN_OR_RETURN(current_.ids, ids_.Close());
  ZEN_ASSIGN_OR_RETURN(current_.mask, mask_.Close());
  ZEN_ASSIGN_OR_RETURN(current_.docs, docs_.Close());
  done_.push_back(current_);
  open_ = false;
  return absl::OkStatus();
}

absl::Status ShardWriter::Add(const TokenizedDocument& doc) {
  if (!open_) ZEN_RETURN_IF_ERROR(Open());
  ids_buffer_.assign(doc.ids.begin(), doc.ids.end());
  ZEN_RETURN_IF_ERROR(ids_.Write(ids_buffer_.data(), ids_buffer_.size() * sizeof(uint32_t)));
  ZEN_RETURN_IF_ERROR(mask_.Write(doc.mask.data(), doc.mask.size()));
  current_.tokens += static_cast<int64_t>(doc.ids.size());
  current_.documents += 1;
  const auto end = static_cast<uint64_t>(current_.tokens);
  ZEN_RETURN_IF_ERROR(docs_.Write(&end, sizeof(end)));
  if (current_.tokens >= tokens_per_shard_) ZEN_RETURN_IF_ERROR(Close());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ShardEntry>> ShardWriter::Finish() {
  if (open_) ZEN_RETURN_IF_ERROR(Close());
  return done_;
}

}  // namespace zen
