// The Split pre-tokenizer of Qwen2/Qwen3: cuts normalized text into the pieces that BPE encodes one by
// one. A hand-written matcher of exactly this regex (the one in Qwen3's tokenizer.json):
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Unicode classes come from ICU (the Debian libicu, Unicode 15): \p{L} and \p{N} are the general
// categories L* and N*, \s is the White_Space property (what Oniguruma, the engine Hugging Face
// `tokenizers` uses, matches for \s). As in `tokenizers`, (?i) folds ASCII only ('S matches, 'ſ does not).
// A hand-written matcher is several times faster than a regex engine and needs no regex library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace zen {

inline constexpr std::string_view kQwenSplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Appends the end byte offset of each piece of `text`; the pieces tile the text, so piece k is
// [ends[k-1], ends[k]). Ill-formed UTF-8 passes through as characters of no class (like punctuation),
// so its bytes reach the byte-level BPE unchanged. Works in place: no per-character buffers.
void SplitQwenPieces(std::string_view text, std::vector<size_t>* ends);

}  // namespace zen
