// The Qwen Split pre-tokenizer against pieces Hugging Face `tokenizers` (Oniguruma) gives for the same
// regex; these need no tokenizer file.
#include <gtest/gtest.h>

#include "data/tokenizer/pretokenizer.h"

namespace zen {
namespace {

std::vector<std::string> Pieces(std::string_view text) {
  std::vector<size_t> ends;
  SplitQwenPieces(text, &ends);
  std::vector<std::string> pieces;
  size_t begin = 0;
  for (size_t end : ends) pieces.emplace_back(text.substr(begin, end - begin)), begin = end;
  return pieces;
}

using P = std::vector<std::string>;

TEST(QwenPieceSplitter, ContractionsFoldAsciiCaseOnly) {
  EXPECT_EQ(Pieces("I'm here, they'RE 'S '\xc5\xbf x'K"),
            (P{"I", "'m", " here", ",", " they", "'RE", " '", "S", " '", "\xc5\xbf", " x", "'K"}));
}

TEST(QwenPieceSplitter, WhitespaceRunsKeepTheirLastSpaceForTheNextWord) {
  EXPECT_EQ(Pieces("  \n\n  x"), (P{"  \n\n", " ", " x"}));
  EXPECT_EQ(Pieces("end   "), (P{"end", "   "}));
  EXPECT_EQ(Pieces("\t\tfoo"), (P{"\t", "\tfoo"}));
}

TEST(QwenPieceSplitter, UnicodeSpacesAndSeparatorsPrefixWords) {
  // U+00A0 is \s (White_Space); U+2028 and U+0085 are too, and like any non-letter prefix a word.
  EXPECT_EQ(Pieces("a  \xc2\xa0" "b\xe2\x80\xa8" "c\xc2\x85" "d"), (P{"a", "  ", "\xc2\xa0" "b", "\xe2\x80\xa8" "c", "\xc2\x85" "d"}));
}

TEST(QwenPieceSplitter, NumbersSplitIntoSingleDigitsOfAnyScript) {
  EXPECT_EQ(Pieces("1234 \xc2\xbd \xd9\xa3"), (P{"1", "2", "3", "4", " ", "\xc2\xbd", " ", "\xd9\xa3"}));
}

TEST(QwenPieceSplitter, PunctuationTakesItsLineBreaks) {
  EXPECT_EQ(Pieces("if (x == 1) {\r\n  return;\r\n}"),
            (P{"if", " (", "x", " ==", " ", "1", ")", " {\r\n", " ", " return", ";\r\n", "}"}));
}

TEST(QwenPieceSplitter, LettersOfAnyScriptMakeWords) {
  EXPECT_EQ(Pieces("\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"), (P{"\xc3\xa9t\xc3\xa9", " \xe6\x97\xa5\xe6\x9c\xac"}));
}

TEST(QwenPieceSplitter, IllFormedBytesArePiecesOfTheirOwnClass) {
  const std::string text = "ab\xff\xfe" "cd \x80";
  EXPECT_EQ(Pieces(text), (P{"ab", "\xff\xfe", "cd", " \x80"}));
}

}  // namespace
}  // namespace zen
