// What data preparation and `zen tokenize` need from a tokenizer: text -> ids (with where each token
// starts), ids -> text, special-token lookup. Two implementations: the Hugging Face byte-level BPE
// (data/tokenizer/bpe_tokenizer.h, Qwen3's tokenizer.json) and the built-in byte tokenizer
// (data/tokenizer/byte_tokenizer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace zen {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Appends the ids of `text`. With `starts`, also appends each token's start: a byte offset into
  // Normalize(text), which is `text` itself when it is already normalized. Thread-safe.
  virtual void EncodeTo(std::string_view text, std::vector<int32_t>* ids, std::vector<size_t>* starts) const = 0;
  std::vector<int32_t> Encode(std::string_view text) const {
    std::vector<int32_t> ids;
    EncodeTo(text, &ids, nullptr);
    return ids;
  }
  // The bytes the ids stand for, special tokens written out; unknown ids are skipped.
  virtual std::string Decode(const std::vector<int32_t>& ids) const = 0;
  // The text as the tokenizer sees it before splitting it (NFC for Qwen3; identity for bytes).
  virtual std::string Normalize(std::string_view text) const = 0;
  // The id of a special token or of a vocabulary entry as spelled in tokenizer.json, or -1.
  virtual int32_t TokenId(std::string_view token) const = 0;
  virtual int64_t VocabSize() const = 0;  // largest id + 1
  // Identifies the tokenizer in a data manifest: "bytes", or "sha256:<hex>" of the tokenizer.json.
  virtual std::string Fingerprint() const = 0;
};

// "bytes" (the built-in byte tokenizer) or a path to a Hugging Face tokenizer.json.
absl::StatusOr<std::unique_ptr<Tokenizer>> OpenTokenizer(const std::string& path_or_bytes);

// The fingerprint OpenTokenizer(path_or_bytes) would report, without building the tokenizer.
absl::StatusOr<std::string> TokenizerFingerprint(const std::string& path_or_bytes);

}  // namespace zen
