#include "data/tokenizer/nfc.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <unicode/bytestream.h>  // defines: icu::StringByteSink
#include <unicode/normalizer2.h> // defines: icu::Normalizer2
#include <unicode/utf8.h>        // defines: U8_NEXT

namespace zen {
namespace {

const icu::Normalizer2& Nfc() {
  static const icu::Normalizer2* nfc = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status)) std::abort();  // ICU's data is linked in: failing here is a broken install
    return n;
  }();
  return *nfc;
}

// End of the well-formed UTF-8 run starting at p, and the end of the ill-formed bytes after it.
std::pair<size_t, size_t> WellFormedRun(std::string_view text, size_t p) {
  auto i = static_cast<int32_t>(p);
  const auto length = static_cast<int32_t>(text.size());
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (c < 0) return {static_cast<size_t>(start), static_cast<size_t>(i)};
  }
  return {text.size(), text.size()};
}

bool IsNfc(std::string_view run) {
  UErrorCode status = U_ZERO_ERROR;
  const bool normalized = Nfc().isNormalizedUTF8(icu::StringPiece(run.data(), static_cast<int32_t>(run.size())), status);
  return U_SUCCESS(status) && normalized;
}

}  // namespace

std::string_view NormalizeNfc(std::string_view text, std::string* buffer) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return text;
  // Runs of well-formed text, each followed by the ill-formed bytes that ended it.
  std::vector<std::pair<size_t, size_t>> runs;  // (start, well-formed end), then bad bytes to the next start
  bool normalized = true;
  for (size_t p = 0; p < text.size();) {
    const auto [good_end, bad_end] = WellFormedRun(text, p);
    runs.emplace_back(p, good_end);
    normalized = normalized && IsNfc(text.substr(p, good_end - p));
    p = bad_end;
  }
  if (normalized) return text;
  buffer->clear();
  icu::StringByteSink<std::string> sink(buffer);
  for (size_t k = 0; k < runs.size(); ++k) {
    const auto [start, good_end] = runs[k];
    UErrorCode status = U_ZERO_ERROR;
    Nfc().normalizeUTF8(0, icu::StringPiece(text.data() + start, static_cast<int32_t>(good_end - start)), sink,
                        nullptr, status);
    const size_t next = k + 1 < runs.size() ? runs[k + 1].first : text.size();
    buffer->append(text.data() + good_end, next - good_end);
  }
  return *buffer;
}

}  // namespace zen
