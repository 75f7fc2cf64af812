// `zen data prepare`: text, JSONL {"text"} or chat JSONL {"messages"} -> token shards + manifest
// (data/shard_manifest.h). Records are read in batches, tokenized by `threads` workers, and written in
// input order, so the output is byte-identical whatever the thread count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace zen {

struct PrepareOptions {
  std::string tokenizer = "bytes";     // tokenizer.json path, or "bytes"
  std::vector<std::string> inputs;
  std::string output_dir;
  // text: each file is one document; jsonl: one {"text"} per line; chat: one {"messages"} per line;
  // auto: chat or jsonl by the first record of a .jsonl/.json file, text for any other file.
  std::string format = "auto";
  std::string loss_mask = "assistant";  // chat only: all | assistant | last; text is always all
  double fim_rate = 0;                  // text and jsonl documents only
  uint64_t seed = 0;                    // FIM's choices
  int threads = 0;                      // 0 = every core
  bool skip_bad = false;                // count malformed records instead of failing on the first
  int64_t tokens_per_shard = int64_t{1} << 28;
};

struct PrepareReport {
  int64_t documents = 0;
  int64_t tokens = 0;
  int64_t loss_tokens = 0;
  int64_t skipped_records = 0;
  int64_t empty_records = 0;  // records with no text, left out
  int64_t input_bytes = 0;
  int64_t shards = 0;
};

// `progress` (optional) is called after each batch with the totals so far.
absl::StatusOr<PrepareReport> PrepareData(const PrepareOptions& options,
                                          const std::function<void(const PrepareReport&)>& progress = {});

}  // namespace zen
