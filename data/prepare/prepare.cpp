#include "data/prepare/prepare.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "data/chat/chat_template.h"
#include "data/common/output_folder.h"
#include "data/common/worker_pool.h"
#include "data/media/media.h"
#include "data/media/media_files.h"
#include "data/shards/document.h"
#include "data/shards/shard_writer.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

enum class Format { kText, kJsonl, kChat };

constexpr size_t kBatchBytes = size_t{16} << 20;  // input per batch: enough work for many threads
constexpr size_t kMediaBatchRecords = 256;  // records per batch with media: their decoded pixels are held

absl::StatusOr<Format> ParseFormat(const std::string& name) {
  if (name == "text") return Format::kText;
  if (name == "jsonl") return Format::kJsonl;
  if (name == "chat") return Format::kChat;
  return BadInput(absl::StrCat("--format ", name, ": expected text, jsonl, chat or auto"));
}

// One document's source: a line of a JSONL file, or a whole text file.
struct Record {
  size_t input = 0;    // index into PrepareOptions::inputs
  int64_t line = 0;    // 1-based line number; 0 for a whole text file
  uint64_t index = 0;  // position among all records, for FIM's per-document choices
  Format format = Format::kText;
  std::string text;
};

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Reads the inputs in order, a batch of records at a time.
class RecordReader {
 public:
  RecordReader(const std::vector<std::string>& inputs, const std::string& format, size_t max_records)
      : inputs_(inputs), format_(format), max_records_(max_records) {}

  // Fills `batch` with the next records (about kBatchBytes of them); an empty batch means the end.
  absl::Status NextBatch(std::vector<Record>* batch, int64_t* bytes) {
    batch->clear();
    size_t batch_bytes = 0;
    while (batch_bytes < kBatchBytes && batch->size() < max_records_) {
      if (!in_.is_open()) {
        if (next_input_ == inputs_.size()) break;
        ZEN_RETURN_IF_ERROR(OpenNext());
        if (format_of_input_ == Format::kText) {
          batch_bytes += ReadWholeFile(batch);
          continue;
        }
      }
      std::string line;
      if (!std::getline(in_, line)) {
        in_.close();
        continue;
      }
      ++line_;
      batch_bytes += line.size() + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (IsBlank(line)) continue;
      batch->push_back({next_input_ - 1, line_, records_++, format_of_input_, std::move(line)});
    }
    *bytes = static_cast<int64_t>(batch_bytes);
    return absl::OkStatus();
  }

 private:
  absl::Status OpenNext() {
    const std::string& path = inputs_[next_input_++];
    in_ = std::ifstream(path, std::ios::binary);
    if (!in_) return BadInput(absl::StrCat(path, ": cannot open"));
    line_ = 0;
    ZEN_ASSIGN_OR_RETURN(format_of_input_, FormatOf(path));
    return absl::OkStatus();
  }

  // "auto": chat or jsonl by the first record of a .jsonl / .json file, text otherwise.
  absl::StatusOr<Format> FormatOf(const std::string& path) {
    if (format_ != "auto") return ParseFormat(format_);
    const std::string extension = std::filesystem::path(path).extension().string();
    if (extension != ".jsonl" && extension != ".json") return Format::kText;
    std::ifstream peek(path);
    std::string line;
    while (std::getline(peek, line) && IsBlank(line)) {
    }
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    return json.is_object() && json.contains("messages") ? Format::kChat : Format::kJsonl;
  }

  size_t ReadWholeFile(std::vector<Record>* batch) {
    std::stringstream contents;
    contents << in_.rdbuf();
    in_.close();
    batch->push_back({next_input_ - 1, 0, records_++, Format::kText, contents.str()});
    return batch->back().text.size();
  }

  const std::vector<std::string>& inputs_;
  std::string format_;
  size_t max_records_;
  size_t next_input_ = 0;
  std::ifstream in_;
  Format format_of_input_ = Format::kText;
  int64_t line_ = 0;
  uint64_t records_ = 0;
};

// A record as the writer takes it: its tokens and (Zen-Omni) its decoded media.
struct EncodedRecord {
  TokenizedDocument doc;
  RecordMedia media;
};

// Everything a worker needs to turn a record into a document.
struct Encoder {
  const Tokenizer& tokenizer;
  LossMask loss_mask;
  FimOptions fim;
  int32_t end_of_text;  // appended to text documents; -1 if the tokenizer has none
  bool knows_chat;      // the tokenizer has <|im_start|> and <|im_end|>
  const std::optional<MediaShape>& media;
  const std::vector<std::string>& input_dirs;  // each input's folder: media paths are relative to it

  // An empty document for a record with no text; an error (without the location) for a bad record.
  absl::StatusOr<EncodedRecord> Encode(const Record& record) const {
    if (record.format == Format::kText) return EncodedRecord{Text(record.text, record.index), {}};
    const auto json = nlohmann::json::parse(record.text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return BadInput("not valid JSON");
    if (record.format == Format::kChat) return Chat(json, input_dirs[record.input]);
    if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) {
      return BadInput("expected an object {\"text\": \"...\"}");
    }
    return EncodedRecord{Text(json["text"].get_ref<const std::string&>(), record.index), {}};
  }

  absl::StatusOr<EncodedRecord> Chat(const nlohmann::json& json, const std::string& dir) const {
    if (!knows_chat) return BadInput("a chat record, but the tokenizer has no <|im_start|> / <|im_end|>");
    ZEN_ASSIGN_OR_RETURN(const std::vector<ChatTurn> turns, ChatTurnsFromJson(json));
    EncodedRecord encoded;
    if (!media) {
      if (HasMediaKeys(json)) {
        return BadInput("a record with images, audios or videos: prepare it with a Zen-Omni recipe "
                        "(zen data prepare --recipe RECIPE), whose model gives the placeholder tokens");
      }
      encoded.doc = EncodeChat(tokenizer, turns, loss_mask);
      return encoded;
    }
    std::vector<MediaPlaceholder> placeholders;
    ZEN_RETURN_IF_ERROR(LoadRecordMedia(json, turns, dir, *media, &encoded.media, &placeholders));
    encoded.doc = EncodeChat(tokenizer, turns, loss_mask, placeholders);
    return encoded;
  }

  TokenizedDocument Text(const std::string& text, uint64_t index) const {
    if (text.empty()) return {};
    return EncodeText(tokenizer, MaybeRearrangeForFim(text, fim, index), end_of_text);
  }
};

absl::Status CheckOptions(const PrepareOptions& o, const Tokenizer& tokenizer) {
  if (o.inputs.empty()) return BadInput("--input: expected at least one file");
  if (o.output_dir.empty()) return BadInput("--output: expected a folder");
  if (!(o.fim_rate >= 0 && o.fim_rate <= 1)) return BadInput("--fim-rate: expected a number from 0 to 1");
  if (o.format != "auto") ZEN_RETURN_IF_ERROR(ParseFormat(o.format).status());
  std::vector<const char*> needed;
  if (o.format == "chat") needed = {"<|im_start|>", "<|im_end|>"};
  if (o.fim_rate > 0) needed.insert(needed.end(), {kFimPrefix, kFimSuffix, kFimMiddle});
  for (const char* token : needed) {
    if (tokenizer.TokenId(token) < 0) return BadInput(absl::StrCat("--tokenizer ", o.tokenizer, " has no ", token));
  }
  return absl::OkStatus();
}

nlohmann::json OptionsJson(const PrepareOptions& o) {
  return {{"inputs", o.inputs}, {"format", o.format}, {"loss_mask", o.loss_mask}, {"fim_rate", o.fim_rate},
          {"seed", o.seed}};
}

// Adds a batch's documents to the shards (and their media beside them) in input order, or fails on the
// first bad record.
absl::Status WriteBatch(const PrepareOptions& o, const std::vector<Record>& batch,
                        const std::vector<absl::StatusOr<EncodedRecord>>& docs, ShardWriter& writer,
                        MediaWriter* media, PrepareReport& report, Manifest& manifest) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!docs[i].ok()) {
      if (o.skip_bad && IsBadInput(docs[i].status())) {
        ++report.skipped_records;
        continue;
      }
      const std::string where = batch[i].line ? absl::StrCat(o.inputs[batch[i].input], ":", batch[i].line)
                                               : o.inputs[batch[i].input];
      return Annotate(docs[i].status(), where);
    }
    const TokenizedDocument& doc = docs[i]->doc;
    if (doc.ids.empty()) {
      ++report.empty_records;
      continue;
    }
    ZEN_RETURN_IF_ERROR(writer.Add(doc));
    if (media) {
      const RecordMedia& m = docs[i]->media;
      ZEN_RETURN_IF_ERROR(media->Add(m));
      report.images += static_cast<int64_t>(m.images.size());
      report.videos += static_cast<int64_t>(m.video_lengths.size());
      report.audios += static_cast<int64_t>(m.audios.size());
    }
    ++report.documents;
    report.tokens += static_cast<int64_t>(doc.ids.size());
    report.loss_tokens += doc.LossTokens();
    manifest.max_token_id = std::max<int64_t>(manifest.max_token_id, *std::max_element(doc.ids.begin(), doc.ids.end()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrepareReport> PrepareData(const PrepareOptions& o,
                                          const std::function<void(const PrepareReport&)>& progress) {
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, OpenTokenizer(o.tokenizer));
  ZEN_RETURN_IF_ERROR(CheckOptions(o, *tokenizer));
  ZEN_ASSIGN_OR_RETURN(const LossMask loss_mask, ParseLossMask(o.loss_mask));
  ZEN_ASSIGN_OR_RETURN(StagedFolder staged, StagedFolder::Begin(o.output_dir, "--output", o.replace_output));
  const std::string& out = staged.path();

  std::vector<std::string> input_dirs;
  for (const std::string& input : o.inputs) input_dirs.push_back(std::filesystem::path(input).parent_path().string());
  const Encoder encoder{*tokenizer,
                        loss_mask,
                        {o.fim_rate, o.seed},
                        tokenizer->TokenId("<|endoftext|>"),
                        tokenizer->TokenId("<|im_start|>") >= 0 && tokenizer->TokenId("<|im_end|>") >= 0,
                        o.media,
                        input_dirs};
  WorkerPool pool(o.threads);
  RecordReader reader(o.inputs, o.format, o.media ? kMediaBatchRecords : SIZE_MAX);
  ShardWriter writer(out, o.tokens_per_shard);
  std::optional<MediaWriter> media;
  if (o.media) media.emplace(out, *o.media);
  Manifest manifest;
  PrepareReport report;
  // Two batches in flight: workers encode one while a writer thread writes the one before.
  struct Batch {
    std::vector<Record> records;
    std::vector<absl::StatusOr<EncodedRecord>> docs;
    int64_t bytes = 0;
  } batches[2];
  std::future<absl::Status> writing;
  for (int current = 0;; current ^= 1) {
    Batch& b = batches[current];
    ZEN_RETURN_IF_ERROR(reader.NextBatch(&b.records, &b.bytes));
    if (b.records.empty()) break;
    b.docs.assign(b.records.size(), EncodedRecord{});
    pool.ParallelFor(b.records.size(), [&](size_t i) { b.docs[i] = encoder.Encode(b.records[i]); });
    if (writing.valid()) ZEN_RETURN_IF_ERROR(writing.get());
    writing = std::async(std::launch::async, [&, done = &b] {
      ZEN_RETURN_IF_ERROR(WriteBatch(o, done->records, done->docs, writer, media ? &*media : nullptr, report, manifest));
      report.input_bytes += done->bytes;
      if (progress) progress(report);
      return absl::OkStatus();
    });
  }
  if (writing.valid()) ZEN_RETURN_IF_ERROR(writing.get());
  if (report.documents == 0) {
    return BadInput(absl::StrCat("--input: no documents in ", absl::StrJoin(o.inputs, ", "),
                                 report.skipped_records ? " (every record was malformed)" : " (empty input)"));
  }
  ZEN_ASSIGN_OR_RETURN(manifest.shards, writer.Finish());
  if (media) {
    ZEN_ASSIGN_OR_RETURN(manifest.media, media->Finish());
  }
  report.shards = static_cast<int64_t>(manifest.shards.size());
  manifest.tokenizer = tokenizer->Fingerprint();
  manifest.tokenizer_path = o.tokenizer;
  manifest.vocab_size = tokenizer->VocabSize();
  manifest.documents = report.documents;
  manifest.tokens = report.tokens;
  manifest.loss_tokens = report.loss_tokens;
  manifest.skipped_records = report.skipped_records;
  manifest.options = OptionsJson(o);
  ZEN_RETURN_IF_ERROR(WriteManifest(out, manifest));
  ZEN_RETURN_IF_ERROR(staged.Commit());
  return report;
}

}  // namespace zen
