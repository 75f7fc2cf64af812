// Unicode NFC normalization (the `NFC` normalizer of tokenizer.json), by ICU's Normalizer2.
#pragma once

#include <string>
#include <string_view>

namespace zen {

// NFC of `text`: `text` itself when it is already NFC (all-ASCII text always is), else the normalized
// form written to *buffer. Ill-formed UTF-8 bytes are kept as they are; the well-formed runs between
// them are normalized.
std::string_view NormalizeNfc(std::string_view text, std::string* buffer);

}  // namespace zen
