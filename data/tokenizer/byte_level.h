// GPT-2's byte-to-unicode map, which byte-level BPE vocabularies (Qwen3's included) are written in:
// every byte is one printable character, so "Ġthe" in tokenizer.json is the bytes " the".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zen {

// The vocabulary spelling of raw bytes (" the" -> "Ġthe").
std::string BytesToByteLevel(std::string_view bytes);

// The raw bytes a vocabulary spelling stands for, or nullopt if a character is outside the map.
std::optional<std::string> ByteLevelToBytes(std::string_view spelling);

}  // namespace zen
