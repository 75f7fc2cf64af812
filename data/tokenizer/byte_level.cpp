#include "data/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include <unicode/utf8.h>  // defines: U8_APPEND_UNSAFE, U8_NEXT

namespace zen {
namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100, U+0101, ... in byte order.
const std::array<char32_t, 256>& ByteChars() {
  static const std::array<char32_t, 256> chars = [] {
    std::array<char32_t, 256> c{};
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) c[b] = printable(b) ? b : next++;
    return c;
  }();
  return chars;
}

// Inverse map, indexed by code point (all of them are below U+0144).
const std::array<int16_t, 512>& CharBytes() {
  static const std::array<int16_t, 512> bytes = [] {
    std::array<int16_t, 512> b;
    b.fill(-1);
    for (int i = 0; i < 256; ++i) b[ByteChars()[i]] = static_cast<int16_t>(i);
    return b;
  }();
  return bytes;
}

}  // namespace

std::string BytesToByteLevel(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    uint8_t buf[4];
    int32_t len = 0;
    U8_APPEND_UNSAFE(buf, len, ByteChars()[b]);
    out.append(reinterpret_cast<const char*>(buf), len);
  }
  return out;
}

std::optional<std::string> ByteLevelToBytes(std::string_view spelling) {
  std::string out;
  const auto length = static_cast<int32_t>(spelling.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(spelling.data(), i, length, c);
    if (c < 0 || c >= 512 || CharBytes()[c] < 0) return std::nullopt;
    out.push_back(static_cast<char>(CharBytes()[c]));
  }
  return out;
}

}  // namespace zen
