#include "data/tokenizer/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <functional>

namespace zen {
namespace {

std::atomic<uint64_t> next_cache_owner{1};

// Recently encoded pieces of one thread: piece bytes -> a span of `ids`. Text repeats its words, so most
// pieces are found here; the cache is dropped whole when full (no eviction bookkeeping on the hot path).
struct PieceCache {
  static constexpr size_t kMaxEntries = 1 << 17;
  uint64_t owner = 0;
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> spans;  // -> (first, count) in ids
  std::vector<int32_t> ids;

  void Reset(uint64_t new_owner) {
    owner = new_owner;
    spans.clear();
    ids.clear();
  }
};

PieceCache& ThreadPieceCache(uint64_t owner) {
  thread_local PieceCache cache;
  if (cache.owner != owner || cache.spans.size() >= PieceCache::kMaxEntries) cache.Reset(owner);
  return cache;
}

// One symbol of a piece being merged: a doubly linked list over the piece's bytes.
struct Symbol {
  int32_t id;    // -1 once merged into its left neighbour
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

}  // namespace

absl::StatusOr<BpeModel> BpeModel::Build(std::vector<std::pair<std::string, int32_t>> vocab,
                                         const std::vector<std::pair<std::string, std::string>>& merges) {
  BpeModel model;
  int32_t max_id = -1;
  for (const auto& entry : vocab) max_id = std::max(max_id, entry.second);
  model.bytes_.resize(max_id + 1);
  for (auto& [bytes, id] : vocab) {
    if (id < 0) return BadInput(absl::StrCat("vocabulary: negative id ", id));
    model.bytes_[id] = bytes;
    if (!model.ids_.emplace(std::move(bytes), id).second) {
      return BadInput(absl::StrCat("vocabulary: token id ", id, " repeats a token"));
    }
  }
  for (int b = 0; b < 256; ++b) {
    model.byte_ids_[b] = model.Find(std::string(1, static_cast<char>(b)));
    if (model.byte_ids_[b] < 0) return BadInput(absl::StrCat("vocabulary: byte ", b, " has no token"));
  }
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int32_t l = model.Find(left), r = model.Find(right), merged = model.Find(left + right);
    if (l < 0 || r < 0 || merged < 0) return BadInput(absl::StrCat("merges[", rank, "]: a part or the result is not in the vocabulary"));
    // As in `tokenizers`, a repeated pair takes its last rank.
    model.merges_[PairKey(l, r)] = Merge{static_cast<int32_t>(rank), merged};
  }
  model.cache_owner_ = next_cache_owner.fetch_add(1);
  return model;
}

int32_t BpeModel::Find(std::string_view bytes) const {
  auto it = ids_.find(absl::string_view(bytes.data(), bytes.size()));
  return it == ids_.end() ? -1 : it->second;
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t left, int32_t right) const {
  auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::EncodePiece(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.size() == 1) {
    ids->push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (piece.size() > kCachedPieceBytes) {
    MergePiece(piece, ids);
    return;
  }
  PieceCache& cache = ThreadPieceCache(cache_owner_);
  const absl::string_view key(piece.data(), piece.size());  // Debian's Abseil has its own string_view
  auto it = cache.spans.find(key);
  if (it == cache.spans.end()) {
    const auto first = static_cast<uint32_t>(cache.ids.size());
    MergePiece(piece, &cache.ids);
    it = cache.spans.emplace(std::string(piece), std::make_pair(first, static_cast<uint32_t>(cache.ids.size()) - first)).first;
  }
  const int32_t* span = cache.ids.data() + it->second.first;
  ids->insert(ids->end(), span, span + it->second.second);
}

// Merges the piece's bytes: always the lowest-ranked adjacent pair, leftmost among equals. A min-heap of
// (rank, left symbol) makes it O(n log n) for long pieces (a run of 10,000 spaces is one piece);
// stale heap entries are recognised by the pair's rank no longer matching.
void BpeModel::MergePiece(std::string_view piece, std::vector<int32_t>* ids) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<uint64_t> heap;  // (rank << 32 | left symbol index), smallest on top
  const auto n = static_cast<int32_t>(piece.size());
  symbols.resize(n);
  heap.clear();
  auto push = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    if (const Merge* m = FindMerge(symbols[left].id, symbols[right].id)) {
      heap.push_back((static_cast<uint64_t>(m->rank) << 32) | static_cast<uint32_t>(left));
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto rank = static_cast<int32_t>(top >> 32);
    const auto left = static_cast<int32_t>(top & 0xffffffffu);
    Symbol& l = symbols[left];
    if (l.id < 0 || l.next < 0) continue;
    const Merge* m = FindMerge(l.id, symbols[l.next].id);
    if (m == nullptr || m->rank != rank) continue;
    Symbol& r = symbols[l.next];
    l.id = m->merged;
    r.id = -1;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = left;
    if (l.prev >= 0) push(l.prev);
    push(left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace zen
