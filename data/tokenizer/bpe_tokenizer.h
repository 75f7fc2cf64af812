// A Hugging Face tokenizer.json with byte-level BPE, as Qwen2/Qwen3 use it: added tokens matched in the
// raw text, NFC, the Qwen Split pre-tokenizer (data/tokenizer/pretokenizer.h), byte-level BPE merges by rank
// (data/tokenizer/bpe_model.h). Ids equal `tokenizers`' encode(text, add_special_tokens=False).ids.
// Load() refuses, with a message, any tokenizer.json feature it does not implement, rather than
// tokenizing differently.
#pragma once

#include <string>

#include "data/tokenizer/added_tokens.h"
#include "data/tokenizer/bpe_model.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {

class BpeTokenizer : public Tokenizer {
 public:
  static absl::StatusOr<BpeTokenizer> Load(const std::string& tokenizer_json_path);

  void EncodeTo(std::string_view text, std::vector<int32_t>* ids, std::vector<size_t>* starts) const override;
  // Raw bytes: ids that split a character give back its bytes as they were (`tokenizers` would write U+FFFD).
  std::string Decode(const std::vector<int32_t>& ids) const override;
  std::string Normalize(std::string_view text) const override;
  int32_t TokenId(std::string_view token) const override;
  int64_t VocabSize() const override;
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  BpeTokenizer(BpeModel model, AddedTokens added, bool nfc, std::string fingerprint)
      : model_(std::move(model)), added_(std::move(added)), nfc_(nfc), fingerprint_(std::move(fingerprint)) {}
  // Encodes text that holds no added token; `base` is its offset for `starts`.
  void EncodeSegment(std::string_view segment, size_t base, std::vector<int32_t>* ids,
                     std::vector<size_t>* starts) const;
  std::string_view NormalizeSegment(std::string_view segment, std::string* buffer) const;

  BpeModel model_;
  AddedTokens added_;
  bool nfc_;
  std::string fingerprint_;
};

}  // namespace zen
