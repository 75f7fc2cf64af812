#include "data/prepare/record_reader.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

bool StartsArray(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t\r");
  return first != std::string::npos && line[first] == '[';
}

}  // namespace

absl::StatusOr<RecordFormat> ParseRecordFormat(const std::string& name) {
  if (name == "text") return RecordFormat::kText;
  if (name == "jsonl") return RecordFormat::kJsonl;
  if (name == "chat") return RecordFormat::kChat;
  if (name == "sharegpt") return RecordFormat::kShareGpt;
  if (name == "alpaca") return RecordFormat::kAlpaca;
  return BadInput(absl::StrCat("--format ", name, ": expected auto, text, jsonl, chat, sharegpt or alpaca"));
}

RecordFormat GuessRecordFormat(const Json& record, const std::string& field) {
  if (!record.is_object()) return RecordFormat::kJsonl;
  if (!field.empty() && record.contains(field)) return record[field].is_array() ? RecordFormat::kChat : RecordFormat::kJsonl;
  if (record.contains("messages")) return RecordFormat::kChat;
  if (record.contains("conversations")) return RecordFormat::kShareGpt;
  if (record.contains("instruction") && record.contains("output")) return RecordFormat::kAlpaca;
  return RecordFormat::kJsonl;
}

std::string Record::Where(const std::vector<std::string>& inputs) const {
  if (line == 0) return inputs[input];
  return element ? absl::StrCat(inputs[input], ": record ", line) : absl::StrCat(inputs[input], ":", line);
}

RecordReader::RecordReader(const std::vector<std::string>& inputs, const std::string& format, const std::string& field,
                           size_t max_records)
    : inputs_(inputs), format_(format), field_(field), max_records_(max_records) {}

absl::StatusOr<RecordFormat> RecordReader::FormatOf(const Json& first_record) const {
  if (format_ != "auto") return ParseRecordFormat(format_);
  return GuessRecordFormat(first_record, field_);
}

absl::Status RecordReader::OpenNext() {
  const std::string& path = inputs_[next_input_++];
  line_ = 0;
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, ByteSource::Open(path));
  lines_ = std::make_unique<LineReader>(std::move(source));
  const std::string extension = std::filesystem::path(WithoutCompressionSuffix(path)).extension().string();
  const bool json_file = extension == ".jsonl" || extension == ".json";
  if (format_ == "text" || (format_ == "auto" && !json_file)) {
    format_of_input_ = RecordFormat::kText;
    return absl::OkStatus();
  }
  // The first record chooses the format; blank lines before it still count.
  std::string first;
  for (;;) {
    ZEN_ASSIGN_OR_RETURN(const bool more, lines_->Next(&first));
    if (!more) return absl::OkStatus();  // an empty file: no records
    if (!IsBlank(first)) break;
    ++line_;
  }
  if (extension == ".json" && StartsArray(first)) return OpenArray(std::move(first));
  ZEN_ASSIGN_OR_RETURN(format_of_input_, FormatOf(Json::parse(first, nullptr, /*allow_exceptions=*/false)));
  pending_ = std::move(first);
  has_pending_ = true;
  return absl::OkStatus();
}

absl::Status RecordReader::OpenArray(std::string first_line) {
  const std::string& path = inputs_[next_input_ - 1];
  ZEN_ASSIGN_OR_RETURN(const std::string rest, lines_->Rest());
  lines_.reset();
  array_ = Json::parse(first_line + "\n" + rest, nullptr, /*allow_exceptions=*/false);
  if (array_.is_discarded() || !array_.is_array()) {
    return BadInput(absl::StrCat(path, ": not a valid JSON array of records"));
  }
  ZEN_ASSIGN_OR_RETURN(format_of_input_, FormatOf(array_.empty() ? Json() : array_[0]));
  in_array_ = true;
  array_at_ = 0;
  return absl::OkStatus();
}

absl::Status RecordReader::NextBatch(std::vector<Record>* batch, int64_t* bytes, size_t batch_bytes) {
  batch->clear();
  size_t taken = 0;
  while (taken < batch_bytes && batch->size() < max_records_) {
    if (!lines_ && !in_array_) {
      if (next_input_ == inputs_.size()) break;
      ZEN_RETURN_IF_ERROR(OpenNext());
      continue;
    }
    const size_t input = next_input_ - 1;
    if (in_array_) {
      if (array_at_ == array_.size()) {
        in_array_ = false;
        array_ = Json();
        continue;
      }
      Record record{input, static_cast<int64_t>(array_at_ + 1), true, records_++, format_of_input_,
                    array_[array_at_++].dump()};
      taken += record.text.size();
      batch->push_back(std::move(record));
      continue;
    }
    if (format_of_input_ == RecordFormat::kText) {
      ZEN_ASSIGN_OR_RETURN(std::string text, lines_->Rest());
      lines_.reset();
      taken += text.size();
      batch->push_back({input, 0, false, records_++, RecordFormat::kText, std::move(text)});
      continue;
    }
    std::string line;
    if (has_pending_) {
      line = std::move(pending_);
      has_pending_ = false;
    } else {
      ZEN_ASSIGN_OR_RETURN(const bool more, lines_->Next(&line));
      if (!more) {
        lines_.reset();
        continue;
      }
    }
    ++line_;
    taken += line.size() + 1;
    if (IsBlank(line)) continue;
    batch->push_back({input, line_, false, records_++, format_of_input_, std::move(line)});
  }
  *bytes = static_cast<int64_t>(taken);
  return absl::OkStatus();
}

}  // namespace zen
