#include "data/tokenizer/pretokenizer.h"

#include <array>

#include <unicode/uchar.h>  // defines: u_charType, u_hasBinaryProperty, U_GET_GC_MASK
#include <unicode/utf8.h>   // defines: U8_NEXT

namespace zen {
namespace {

// Character classes of the regex, as bits; "other" is none of letter, number, space.
enum CharClass : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kNewline = 8 };

uint8_t ClassOf(UChar32 c) {
  if (c < 0) return 0;
  const uint32_t category = U_GET_GC_MASK(c);
  uint8_t cls = 0;
  if (category & U_GC_L_MASK) cls |= kLetter;
  if (category & U_GC_N_MASK) cls |= kNumber;
  if (u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) cls |= kSpace;
  if (c == '\r' || c == '\n') cls |= kNewline;
  return cls;
}

// ASCII is most text: its classes come from the same ICU query, computed once.
const std::array<uint8_t, 128>& AsciiClasses() {
  static const std::array<uint8_t, 128> table = [] {
    std::array<uint8_t, 128> t{};
    for (int c = 0; c < 128; ++c) t[c] = ClassOf(c);
    return t;
  }();
  return table;
}

struct Char {
  UChar32 cp;    // -1 for an ill-formed sequence
  uint8_t cls;   // CharClass bits
  size_t end;    // byte offset just past it
};

class Matcher {
 public:
  explicit Matcher(std::string_view text) : text_(text), ascii_(AsciiClasses()) {}

  // End byte offset of the regex's match at byte p (every position matches some alternative).
  size_t MatchAt(size_t p) const {
    const Char c = At(p);
    if (c.cp == '\'') {
      if (size_t end = ContractionEnd(p); end) return end;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(c.cls & (kLetter | kNumber | kNewline)) && c.end < text_.size()) {
      const Char d = At(c.end);
      if (d.cls & kLetter) return RunEnd(d.end, kLetter);
    }
    if (c.cls & kLetter) return RunEnd(c.end, kLetter);
    if (c.cls & kNumber) return c.end;  // \p{N}: one digit per piece
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    Char first = c;
    if (c.cp == ' ' && c.end < text_.size()) {
      const Char d = At(c.end);
      if (IsOther(d)) first = d;
    }
    if (IsOther(first)) return RunEnd(RunEndOther(first.end), kNewline);
    return WhitespaceEnd(p);
  }

 private:
  static bool IsOther(const Char& c) { return !(c.cls & (kLetter | kNumber | kSpace)); }

  Char At(size_t p) const {
    const auto byte = static_cast<unsigned char>(text_[p]);
    if (byte < 0x80) return {byte, ascii_[byte], p + 1};
    int32_t i = static_cast<int32_t>(p);
    UChar32 cp;
    U8_NEXT(text_.data(), i, static_cast<int32_t>(text_.size()), cp);
    return {cp, ClassOf(cp), static_cast<size_t>(i)};
  }

  // (?i:'s|'t|'re|'ve|'m|'ll|'d) at the apostrophe at p, or 0.
  size_t ContractionEnd(size_t p) const {
    auto lower = [&](size_t i) { return i < text_.size() ? (text_[i] | 0x20) : 0; };
    const char a = lower(p + 1), b = lower(p + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
    return 0;
  }

  // End of the run of characters with any of `classes`, starting at p.
  size_t RunEnd(size_t p, uint8_t classes) const {
    while (p < text_.size()) {
      const Char c = At(p);
      if (!(c.cls & classes)) break;
      p = c.end;
    }
    return p;
  }

  size_t RunEndOther(size_t p) const {
    while (p < text_.size()) {
      const Char c = At(p);
      if (!IsOther(c)) break;
      p = c.end;
    }
    return p;
  }

  // \s*[\r\n]+ | \s+(?!\S) | \s+ at the start of a whitespace run.
  size_t WhitespaceEnd(size_t p) const {
    size_t end = p, last_start = p, after_newline = 0, count = 0;
    while (end < text_.size()) {
      const Char c = At(end);
      if (!(c.cls & kSpace)) break;
      if (c.cls & kNewline) after_newline = c.end;
      last_start = end;
      end = c.end;
      ++count;
    }
    if (after_newline) return after_newline;  // up to the run's last newline
    if (end == text_.size() || count < 2) return end;
    return last_start;  // leave the last space to prefix the next word
  }

  std::string_view text_;
  const std::array<uint8_t, 128>& ascii_;
};

}  // namespace

void SplitQwenPieces(std::string_view text, std::vector<size_t>* ends) {
  const Matcher matcher(text);
  for (size_t p = 0; p < text.size();) {
    p = matcher.MatchAt(p);
    ends->push_back(p);
  }
}

}  // namespace zen
