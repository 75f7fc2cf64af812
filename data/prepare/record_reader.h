// The records of `zen data prepare`'s inputs, in order, a batch at a time. An input is read by its name:
//   FILE.jsonl / FILE.json  one JSON record per line, or (a .json file that starts with '[') one JSON
//                           array of records
//   FILE.{jsonl,json}.gz / .zst / .zstd  the same, compressed (data/prepare/byte_source.h)
//   FILE.parquet (or any file with --format parquet)  one record per row, of the columns the format
//                           needs (data/parquet/parquet_rows.h)
//   any other file          one text document (compressed too when its name says so)
// With --format repo an input is a folder (one repository: its files) or JSONL of {"repo", "path",
// "content"} rows, consecutive rows of the same repo making one repository.
// What a JSON record is (text, chat, ShareGPT, Alpaca) is `format`, or with "auto" the first record's keys.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/parquet/parquet_rows.h"
#include "data/prepare/byte_source.h"

namespace zen {

enum class RecordFormat {
  kText,      // a whole file is one document
  kJsonl,     // {"text": "..."} (or the --field key)
  kChat,      // {"messages": [...], "tools": [...]} (or the --field key for messages)
  kShareGpt,  // {"conversations": [{"from", "value"}, ...]} (data/chat/chat_formats.h)
  kAlpaca,    // {"instruction", "input", "output"}
  kRepo,      // a whole repository: {"repo", "files": [{"path", "content"}]} (data/prepare/repo_documents.h)
};
// "text" | "jsonl" | "chat" | "sharegpt" | "alpaca" | "repo"; "auto" (and "parquet", which says how to read the
// file, not what a record is) is resolved per input by RecordReader.
absl::StatusOr<RecordFormat> ParseRecordFormat(const std::string& name);

// The format a JSON record's keys suggest: chat with messages (or an array under `field`), ShareGPT with
// conversations, Alpaca with instruction and output, else jsonl.
RecordFormat GuessRecordFormat(const nlohmann::ordered_json& record, const std::string& field);

// One document's source: a line of a JSONL file, an element of a JSON array, or a whole text file.
struct Record {
  size_t input = 0;    // index into the inputs
  int64_t line = 0;    // 1-based line number, or element number in a JSON array; 0 for a whole text file
  bool element = false;  // `line` numbers an array element
  uint64_t index = 0;  // position among all records, for FIM's per-document choices
  RecordFormat format = RecordFormat::kText;
  std::string text;    // the JSON of the record, or the text file

  // "FILE:LINE", "FILE: record N" or "FILE", for messages.
  std::string Where(const std::vector<std::string>& inputs) const;
};

class RecordReader {
 public:
  // format: "auto" or a ParseRecordFormat name; field: the key --field names ("" = the format's own).
  RecordReader(const std::vector<std::string>& inputs, const std::string& format, const std::string& field,
               size_t max_records);

  // Fills `batch` with the next records (about `batch_bytes` of them); an empty batch means the end.
  // `bytes`: the input bytes (decompressed) the batch took.
  absl::Status NextBatch(std::vector<Record>* batch, int64_t* bytes, size_t batch_bytes);

 private:
  absl::Status OpenNext();
  absl::Status OpenArray(std::string first_line);
  absl::Status OpenParquet(const std::string& path);
  // --format repo: the next repository of the open JSONL input into `record`; false at its end.
  absl::StatusOr<bool> NextRepository(size_t input, Record* record);
  absl::StatusOr<RecordFormat> FormatOf(const nlohmann::ordered_json& first_record) const;

  const std::vector<std::string>& inputs_;
  std::string format_, field_;
  size_t max_records_;
  size_t next_input_ = 0;
  std::unique_ptr<LineReader> lines_;  // the open input's lines
  std::string pending_;                // a line read ahead (the first, to choose the format)
  bool has_pending_ = false;
  nlohmann::ordered_json array_;       // the open input's records, when it is a JSON array
  size_t array_at_ = 0;
  bool in_array_ = false;
  std::unique_ptr<ParquetRows> parquet_;  // the open input's rows, when it is Parquet
  RecordFormat format_of_input_ = RecordFormat::kText;
  int64_t line_ = 0;
  uint64_t records_ = 0;
  nlohmann::ordered_json next_repo_row_;  // --format repo: the row read ahead that starts the next repository
};

}  // namespace zen
