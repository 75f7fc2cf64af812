// `zen data prepare`: text, JSONL {"text"}, chat {"messages"}, ShareGPT, Alpaca or repository records, from
// plain or compressed JSONL, JSON arrays, Parquet, folders (repositories) or text files (data/prepare/record_reader.h) -> token shards + manifest
// (data/shards/shard_manifest.h). Records are read in batches, tokenized by `threads` workers, and written in
// input order, so the output is byte-identical whatever the thread count.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/media/media_shape.h"

namespace zen {

struct PrepareOptions {
  std::string tokenizer = "bytes";     // tokenizer.json path, or "bytes"
  std::vector<std::string> inputs;
  std::string output_dir;               // written whole or not at all (data/common/output_folder.h)
  bool replace_output = false;          // --force: a non-empty output_dir is replaced once the new one is complete
  // text: each file is one document; jsonl: {"text"} records; chat: {"messages"}; sharegpt; alpaca;
  // auto: by the first record of a .jsonl/.json file (compressed or not), text for any other file.
  std::string format = "auto";
  std::string field;                    // the key of the text (jsonl) or messages (chat); "" = text / messages
  std::string loss_mask = "assistant";  // chat only: all | assistant | last; text is always all
  std::string chat_template = "qwen3";  // chat only: qwen3 | plain (data/chat/chat_template.h)
  double fim_rate = 0;                  // text and jsonl documents, and each file of a repository
  uint64_t seed = 0;                    // FIM's choices
  int threads = 0;                      // 0 = every core
  int64_t seq_len = 0;                  // repo: split repositories at file boundaries to this many tokens (0 = never)
  bool skip_bad = false;                // count malformed records instead of failing on the first
  int64_t tokens_per_shard = int64_t{1} << 28;
  // Zen-Omni (a multimodal model's recipe): chat records' <image>/<video>/<audio> become placeholder runs
  // of these lengths and ids, their media are decoded and written beside the shards, and training reads
  // one record per row (data/media/media.h, data/loader/record_rows.h). Unset: records with media are refused.
  std::optional<MediaShape> media;
};

struct PrepareReport {
  int64_t documents = 0;
  int64_t tokens = 0;
  int64_t loss_tokens = 0;
  int64_t skipped_records = 0;
  int64_t empty_records = 0;  // records with no text, left out
  int64_t input_bytes = 0;
  int64_t shards = 0;
  int64_t images = 0, videos = 0, audios = 0;  // media written (Zen-Omni)
};

// `progress` (optional) is called after each batch with the totals so far. A non-empty output_dir is
// BadInput unless replace_output; the shards are written into a temporary folder renamed to output_dir
// on success, so a failure (a bad record, an empty or missing input) leaves output_dir as it was.
absl::StatusOr<PrepareReport> PrepareData(const PrepareOptions& options,
                                          const std::function<void(const PrepareReport&)>& progress = {});

}  // namespace zen
