// Stateless, seedable randomness: SplitMix64 (Steele, Lea, Flood 2014) as a mixing function, so a
// choice depends only on (seed, index), never on the order things were computed in.
#pragma once

#include <cstdint>

namespace zen {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A pseudo-random bijection of [0, n), chosen by `key`: a 4-round balanced Feistel network on the
// smallest even number of bits that covers n, walking values outside [0, n) around the cycle back
// into it (fewer than 4 steps on average, since that domain is below 4n).
class IndexPermutation {
 public:
  IndexPermutation(uint64_t n, uint64_t key) : n_(n) {
    int bits = 2;
    while (bits < 64 && (uint64_t{1} << bits) < n) bits += 2;
    half_ = bits / 2;
    mask_ = (uint64_t{1} << half_) - 1;
    for (int r = 0; r < 4; ++r) round_keys_[r] = SplitMix64(key + 0x632be59bd9b4e019ull * (r + 1));
  }

  uint64_t operator()(uint64_t i) const {
    uint64_t x = Encrypt(i);
    while (x >= n_) x = Encrypt(x);
    return x;
  }

 private:
  uint64_t Encrypt(uint64_t x) const {
    uint64_t left = x >> half_, right = x & mask_;
    for (uint64_t k : round_keys_) {
      const uint64_t next = left ^ (SplitMix64(right ^ k) & mask_);
      left = right;
      right = next;
    }
    return (left << half_) | right;
  }

  uint64_t n_;
  int half_;
  uint64_t mask_;
  uint64_t round_keys_[4];
};

// Row `row` of a run that visits n items per epoch, each epoch in a new order keyed by (seed, epoch):
// the item it reads. Depends only on (seed, row), so any split of rows over ranks sees the same items.
inline int64_t EpochShuffledItem(int64_t row, int64_t n, uint64_t seed) {
  const int64_t epoch = row / n;
  const IndexPermutation order(static_cast<uint64_t>(n), SplitMix64(seed ^ SplitMix64(epoch)));
  return static_cast<int64_t>(order(static_cast<uint64_t>(row % n)));
}

}  // namespace zen
