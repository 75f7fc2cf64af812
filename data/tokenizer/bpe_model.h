// Byte-level BPE merges: turns one pre-tokenized piece (raw bytes) into vocabulary ids by applying
// merges in rank order, exactly as Hugging Face `tokenizers` does (lowest rank first, leftmost on ties).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/status.h"

namespace zen {

class BpeModel {
 public:
  // vocab: (raw bytes, id); merges in rank order as (left, right) raw bytes. Every byte must be a token,
  // and every merge's parts and result must be in the vocabulary.
  static absl::StatusOr<BpeModel> Build(std::vector<std::pair<std::string, int32_t>> vocab,
                                        const std::vector<std::pair<std::string, std::string>>& merges);

  // Appends the ids of one piece. Results for pieces up to kCachedPieceBytes long are cached per thread.
  void EncodePiece(std::string_view piece, std::vector<int32_t>* ids) const;

  int32_t Find(std::string_view bytes) const;  // -1 if not a token
  const std::string& Bytes(int32_t id) const { return bytes_[id]; }
  int32_t Size() const { return static_cast<int32_t>(bytes_.size()); }  // largest id + 1

  static constexpr size_t kCachedPieceBytes = 64;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;  // id of left + right
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* FindMerge(int32_t left, int32_t right) const;
  void MergePiece(std::string_view piece, std::vector<int32_t>* ids) const;

  absl::flat_hash_map<std::string, int32_t> ids_;
  std::vector<std::string> bytes_;       // id -> raw bytes ("" for ids the vocabulary skips)
  std::array<int32_t, 256> byte_ids_{};  // id of each single byte
  absl::flat_hash_map<uint64_t, Merge> merges_;
  uint64_t cache_owner_ = 0;             // tells this model's per-thread cache from another model's
};

}  // namespace zen
