#include "data/prepare/prepare.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <future>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "data/chat/chat_formats.h"
#include "data/chat/chat_template.h"
#include "data/common/output_folder.h"
#include "data/common/worker_pool.h"
#include "data/media/media.h"
#include "data/media/media_files.h"
#include "data/prepare/record_reader.h"
#include "data/prepare/repo_documents.h"
#include "data/shards/document.h"
#include "data/shards/shard_writer.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kBatchBytes = size_t{16} << 20;  // input per batch: enough work for many threads
constexpr size_t kMediaBatchRecords = 256;  // records per batch with media: their decoded pixels are held

// A record as the writer takes it: its documents (one, or a long repository's parts) and (Zen-Omni) its
// decoded media.
struct EncodedRecord {
  std::vector<TokenizedDocument> docs;
  RecordMedia media;
};

// Everything a worker needs to turn a record into a document.
struct Encoder {
  const Tokenizer& tokenizer;
  LossMask loss_mask;
  ChatTemplate chat_template;
  FimOptions fim;
  std::string field;    // --field: the key of the text or the messages ("" = text / messages)
  int32_t end_of_text;  // appended to text documents; -1 if the tokenizer has none
  bool knows_chat;      // the tokenizer has <|im_start|> and <|im_end|>
  const std::optional<MediaShape>& media;
  const std::vector<std::string>& input_dirs;  // each input's folder: media paths are relative to it
  int64_t seq_len;      // --format repo: repositories split at file boundaries to this many tokens (0 = never)

  // An empty document for a record with no text; an error (without the location) for a bad record.
  absl::StatusOr<EncodedRecord> Encode(const Record& record) const {
    if (record.format == RecordFormat::kText) return EncodedRecord{{Text(record.text, record.index)}, {}};
    const auto json = Json::parse(record.text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return BadInput("not valid JSON");
    const std::string& dir = input_dirs[record.input];
    switch (record.format) {
      case RecordFormat::kShareGpt: {
        ZEN_ASSIGN_OR_RETURN(const Json chat, MessagesFromShareGpt(json));
        return Chat(chat, dir);
      }
      case RecordFormat::kAlpaca: {
        ZEN_ASSIGN_OR_RETURN(const Json chat, MessagesFromAlpaca(json));
        return Chat(chat, dir);
      }
      case RecordFormat::kChat: return field.empty() || field == "messages" ? Chat(json, dir) : Chat(Renamed(json), dir);
      case RecordFormat::kRepo: {
        ZEN_ASSIGN_OR_RETURN(std::vector<TokenizedDocument> parts,
                             EncodeRepository(tokenizer, json, fim, record.index, seq_len, end_of_text));
        return EncodedRecord{std::move(parts), {}};
      }
      default: break;
    }
    const std::string key = field.empty() ? "text" : field;
    if (!json.is_object() || !json.contains(key) || !json[key].is_string()) {
      return BadInput(absl::StrCat("expected an object {\"", key, "\": \"...\"}"));
    }
    return EncodedRecord{{Text(json[key].get_ref<const std::string&>(), record.index)}, {}};
  }

  // The record with --field's messages under "messages".
  Json Renamed(const Json& json) const {
    if (!json.is_object() || !json.contains(field)) return json;
    Json renamed = json;
    renamed["messages"] = json[field];
    return renamed;
  }

  absl::StatusOr<EncodedRecord> Chat(const Json& json, const std::string& dir) const {
    if (!knows_chat) return BadInput("a chat record, but the tokenizer has no <|im_start|> / <|im_end|>");
    ZEN_ASSIGN_OR_RETURN(const Conversation conversation, ConversationFromJson(json));
    EncodedRecord encoded;
    if (!media) {
      if (HasMediaKeys(json)) {
        return BadInput("a record with images, audios or videos: prepare it with a Zen-Omni recipe "
                        "(zen data prepare --recipe RECIPE), whose model gives the placeholder tokens");
      }
      encoded.docs = {EncodeChat(tokenizer, conversation, loss_mask, {}, chat_template)};
      return encoded;
    }
    std::vector<MediaPlaceholder> placeholders;
    ZEN_RETURN_IF_ERROR(LoadRecordMedia(json, conversation.turns, dir, *media, &encoded.media, &placeholders));
    encoded.docs = {EncodeChat(tokenizer, conversation, loss_mask, placeholders, chat_template)};
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
  if (o.format != "auto" && o.format != "parquet") ZEN_RETURN_IF_ERROR(ParseRecordFormat(o.format).status());
  ZEN_RETURN_IF_ERROR(ParseChatTemplate(o.chat_template).status());
  std::vector<const char*> needed;
  if (o.format == "chat" || o.format == "sharegpt" || o.format == "alpaca") needed = {"<|im_start|>", "<|im_end|>"};
  if (o.format == "repo") needed = {kRepoName, kFileSep};
  if (o.seq_len < 0) return BadInput("--seq-len: expected a non-negative number of tokens");
  if (o.fim_rate > 0) needed.insert(needed.end(), {kFimPrefix, kFimSuffix, kFimMiddle});
  for (const char* token : needed) {
    if (tokenizer.TokenId(token) < 0) return BadInput(absl::StrCat("--tokenizer ", o.tokenizer, " has no ", token));
  }
  return absl::OkStatus();
}

nlohmann::json OptionsJson(const PrepareOptions& o) {
  nlohmann::json options = {{"inputs", o.inputs},       {"format", o.format}, {"field", o.field},   {"loss_mask", o.loss_mask},
                            {"chat_template", o.chat_template}, {"fim_rate", o.fim_rate}, {"seed", o.seed}};
  if (o.format == "repo") options["seq_len"] = o.seq_len;
  return options;
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
      return Annotate(docs[i].status(), batch[i].Where(o.inputs));
    }
    if (docs[i]->docs.empty() || docs[i]->docs.front().ids.empty()) {
      ++report.empty_records;
      continue;
    }
    for (const TokenizedDocument& doc : docs[i]->docs) {
      ZEN_RETURN_IF_ERROR(writer.Add(doc));
      ++report.documents;
      report.tokens += static_cast<int64_t>(doc.ids.size());
      report.loss_tokens += doc.LossTokens();
      manifest.max_token_id = std::max<int64_t>(manifest.max_token_id, *std::max_element(doc.ids.begin(), doc.ids.end()));
    }
    if (media) {
      const RecordMedia& m = docs[i]->media;
      ZEN_RETURN_IF_ERROR(media->Add(m));
      report.images += static_cast<int64_t>(m.images.size());
      report.videos += static_cast<int64_t>(m.video_lengths.size());
      report.audios += static_cast<int64_t>(m.audios.size());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrepareReport> PrepareData(const PrepareOptions& o,
                                          const std::function<void(const PrepareReport&)>& progress) {
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, OpenTokenizer(o.tokenizer));
  ZEN_RETURN_IF_ERROR(CheckOptions(o, *tokenizer));
  ZEN_ASSIGN_OR_RETURN(const LossMask loss_mask, ParseLossMask(o.loss_mask));
  ZEN_ASSIGN_OR_RETURN(const ChatTemplate chat_template, ParseChatTemplate(o.chat_template));
  ZEN_ASSIGN_OR_RETURN(StagedFolder staged, StagedFolder::Begin(o.output_dir, "--output", o.replace_output));
  const std::string& out = staged.path();

  std::vector<std::string> input_dirs;
  for (const std::string& input : o.inputs) input_dirs.push_back(std::filesystem::path(input).parent_path().string());
  const Encoder encoder{*tokenizer,
                        loss_mask,
                        chat_template,
                        {o.fim_rate, o.seed},
                        o.field,
                        tokenizer->TokenId("<|endoftext|>"),
                        tokenizer->TokenId("<|im_start|>") >= 0 && tokenizer->TokenId("<|im_end|>") >= 0,
                        o.media,
                        input_dirs,
                        o.seq_len};
  WorkerPool pool(o.threads);
  RecordReader reader(o.inputs, o.format, o.field, o.media ? kMediaBatchRecords : SIZE_MAX);
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
    ZEN_RETURN_IF_ERROR(reader.NextBatch(&b.records, &b.bytes, kBatchBytes));
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
