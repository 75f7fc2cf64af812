#include "data/prepare/record_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/prepare/repo_documents.h"

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

bool IsFolder(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// A folder's own name ("src/zen/" -> "zen"), which names its repository.
std::string FolderName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool Has(const std::vector<std::string>& columns, const std::string& name) {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

// The columns of a Parquet file that make its records: those the format reads (--field's for text or
// messages), or with auto / parquet the first of text, messages, conversations, instruction+output present.
absl::StatusOr<std::vector<std::string>> RecordColumns(const std::string& path, const std::vector<std::string>& columns,
                                                       std::string format, const std::string& field) {
  if (format == "auto" || format == "parquet") {
    if (!field.empty()) format = "field";
    else if (Has(columns, "text")) format = "jsonl";
    else if (Has(columns, "messages")) format = "chat";
    else if (Has(columns, "conversations")) format = "sharegpt";
    else if (Has(columns, "instruction") && Has(columns, "output")) format = "alpaca";
  }
  std::vector<std::string> wanted, optional;
  if (format == "jsonl") wanted = {field.empty() ? "text" : field};
  if (format == "chat") wanted = {field.empty() ? "messages" : field}, optional = {"tools"};
  if (format == "field") wanted = {field}, optional = {"tools"};
  if (format == "sharegpt") wanted = {"conversations"}, optional = {"system", "tools"};
  if (format == "alpaca") wanted = {"instruction", "output"}, optional = {"input", "system", "history"};
  if (format == "text") return BadInput(absl::StrCat(path, ": --format text reads a file as one text; a Parquet file holds records"));
  for (const std::string& name : wanted) {
    if (!Has(columns, name)) {
      return BadInput(absl::StrCat(path, ": no column \"", name, "\" (columns: ", absl::StrJoin(columns, ", "),
                                   "); name the column with --field"));
    }
  }
  if (wanted.empty()) {
    return BadInput(absl::StrCat(path, ": none of the columns text, messages, conversations, instruction+output "
                                 "(columns: ", absl::StrJoin(columns, ", "), "); name the column with --field"));
  }
  for (const std::string& name : optional) {
    if (Has(columns, name)) wanted.push_back(name);
  }
  return wanted;
}

}  // namespace

absl::StatusOr<RecordFormat> ParseRecordFormat(const std::string& name) {
  if (name == "text") return RecordFormat::kText;
  if (name == "jsonl") return RecordFormat::kJsonl;
  if (name == "chat") return RecordFormat::kChat;
  if (name == "sharegpt") return RecordFormat::kShareGpt;
  if (name == "alpaca") return RecordFormat::kAlpaca;
  if (name == "repo") return RecordFormat::kRepo;
  return BadInput(absl::StrCat("--format ", name, ": expected auto, text, jsonl, chat, sharegpt, alpaca, repo or parquet"));
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
  if (format_ != "auto" && format_ != "parquet") return ParseRecordFormat(format_);
  return GuessRecordFormat(first_record, field_);
}

absl::Status RecordReader::OpenNext() {
  const std::string& path = inputs_[next_input_++];
  line_ = 0;
  if (format_ == "parquet" || std::filesystem::path(path).extension() == ".parquet") return OpenParquet(path);
  if (format_ == "repo" && IsFolder(path)) {  // one repository: read whole, handed on as one record
    ZEN_ASSIGN_OR_RETURN(std::vector<RepoFile> files, ReadRepositoryFolder(path));
    pending_ = RepoRecordJson(FolderName(path), std::move(files)).dump();
    has_pending_ = true;
    format_of_input_ = RecordFormat::kRepo;
    return absl::OkStatus();
  }
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

absl::Status RecordReader::OpenParquet(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(parquet_, ParquetRows::Open(path));
  ZEN_ASSIGN_OR_RETURN(const std::vector<std::string> columns, RecordColumns(path, parquet_->Columns(), format_, field_));
  ZEN_RETURN_IF_ERROR(parquet_->Select(columns));
  // The first row chooses the format, as a JSONL file's first line does.
  Json first;
  absl::StatusOr<bool> more = parquet_->Next(&first);
  if (!more.ok()) return BadInput(absl::StrCat(path, ": record 1: ", more.status().message()));
  if (!*more) {
    parquet_.reset();
    return absl::OkStatus();
  }
  ZEN_ASSIGN_OR_RETURN(format_of_input_, FormatOf(first));
  pending_ = first.dump();
  has_pending_ = true;
  return absl::OkStatus();
}

absl::StatusOr<bool> RecordReader::NextRepository(size_t input, Record* record) {
  // Rows {"repo", "path", "content"}; a row of another repo ends this one and is kept for the next.
  std::string name;
  std::vector<RepoFile> files;
  int64_t first_line = 0;
  auto take = [&](Json row) {
    if (files.empty()) name = row["repo"].get<std::string>(), first_line = line_;
    files.push_back({row["path"].get<std::string>(), row["content"].get<std::string>()});
  };
  if (!next_repo_row_.is_null()) take(std::move(next_repo_row_)), next_repo_row_ = nullptr;
  for (;;) {
    std::string line;
    if (has_pending_) {
      line = std::move(pending_);
      has_pending_ = false;
    } else {
      ZEN_ASSIGN_OR_RETURN(const bool more, lines_->Next(&line));
      if (!more) break;
    }
    ++line_;
    if (IsBlank(line)) continue;
    Json row = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    for (const char* key : {"repo", "path", "content"}) {
      if (!row.is_object() || !row.contains(key) || !row[key].is_string()) {
        return BadInput(absl::StrCat(inputs_[input], ":", line_, ": ", row.is_discarded() ? "not valid JSON" : key,
                                     row.is_discarded() ? "" : ": expected a string (a row is {\"repo\", \"path\", \"content\"})"));
      }
    }
    if (!files.empty() && row["repo"] != name) {
      next_repo_row_ = std::move(row);
      break;
    }
    take(std::move(row));
  }
  if (files.empty()) return false;
  *record = {input, first_line, false, records_++, RecordFormat::kRepo, RepoRecordJson(name, std::move(files)).dump()};
  return true;
}

absl::Status RecordReader::NextBatch(std::vector<Record>* batch, int64_t* bytes, size_t batch_bytes) {
  batch->clear();
  size_t taken = 0;
  while (taken < batch_bytes && batch->size() < max_records_) {
    if (format_of_input_ == RecordFormat::kRepo && has_pending_ && !lines_) {  // a folder's repository
      has_pending_ = false;
      taken += pending_.size();
      batch->push_back({next_input_ - 1, 0, false, records_++, RecordFormat::kRepo, std::move(pending_)});
      continue;
    }
    if (!lines_ && !in_array_ && !parquet_) {
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
    if (parquet_) {
      std::string row;
      if (has_pending_) {
        row = std::move(pending_);
        has_pending_ = false;
      } else {
        Json json;
        absl::StatusOr<bool> more = parquet_->Next(&json);
        if (!more.ok()) {
          return BadInput(absl::StrCat(inputs_[input], ": record ", line_ + 1, ": ", more.status().message()));
        }
        if (!*more) {
          parquet_.reset();
          continue;
        }
        row = json.dump();
      }
      taken += row.size();
      batch->push_back({input, ++line_, true, records_++, format_of_input_, std::move(row)});
      continue;
    }
    if (format_of_input_ == RecordFormat::kRepo) {
      Record record;
      ZEN_ASSIGN_OR_RETURN(const bool more, NextRepository(input, &record));
      if (!more) {
        lines_.reset();
        continue;
      }
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
