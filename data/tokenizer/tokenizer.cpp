#include "data/tokenizer/tokenizer.h"

#include "data/common/sha256.h"
#include "data/tokenizer/bpe_tokenizer.h"
#include "data/tokenizer/byte_tokenizer.h"

namespace zen {
namespace {

constexpr char kBytes[] = "bytes";

// The built-in byte tokenizer behind the common interface.
class BytesTokenizer : public Tokenizer {
 public:
  void EncodeTo(std::string_view text, std::vector<int32_t>* ids, std::vector<size_t>* starts) const override {
    size_t at = 0;
    for (int64_t id : bytes_.Encode(std::string(text))) {
      ids->push_back(static_cast<int32_t>(id));
      if (starts != nullptr) starts->push_back(at);
      at += id < 256 ? 1 : bytes_.Decode({id}).size();
    }
  }
  std::string Decode(const std::vector<int32_t>& ids) const override {
    return bytes_.Decode(std::vector<int64_t>(ids.begin(), ids.end()));
  }
  std::string Normalize(std::string_view text) const override { return std::string(text); }
  int32_t TokenId(std::string_view token) const override {
    const std::vector<int64_t> ids = bytes_.Encode(std::string(token));
    return ids.size() == 1 ? static_cast<int32_t>(ids[0]) : -1;
  }
  int64_t VocabSize() const override { return ByteTokenizer::kVocabSize; }
  std::string Fingerprint() const override { return kBytes; }

 private:
  ByteTokenizer bytes_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> OpenTokenizer(const std::string& path_or_bytes) {
  if (path_or_bytes.empty() || path_or_bytes == kBytes) return std::unique_ptr<Tokenizer>(new BytesTokenizer());
  ZEN_ASSIGN_OR_RETURN(BpeTokenizer bpe, BpeTokenizer::Load(path_or_bytes));
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(bpe)));
}

absl::StatusOr<std::string> TokenizerFingerprint(const std::string& path_or_bytes) {
  if (path_or_bytes.empty() || path_or_bytes == kBytes) return std::string(kBytes);
  ZEN_ASSIGN_OR_RETURN(const std::string digest, Sha256OfFile(path_or_bytes));
  return absl::StrCat("sha256:", digest);
}

}  // namespace zen
