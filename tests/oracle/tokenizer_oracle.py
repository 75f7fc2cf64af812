"""Random texts and the ids Hugging Face `tokenizers` gives them, for tests/unit/tokenizer_parity_test.cpp.

usage: tokenizer_oracle.py TOKENIZER_JSON OUT_JSONL [--count N] [--seed S]
Writes one line per text: {"kind", "text", "ids", "nfc", "stale_nfc"}. nfc: the text is already NFC,
so decoding its ids must give it back exactly. Texts come from a fixed seed, so a failure is
reproducible.

`tokenizers`' NFC tables predate Unicode 14: it does not reorder marks such as U+08CF or U+1AC1, whose
combining classes Unicode 14 defined, so it tokenizes text holding them out of canonical order
differently from a correct NFC (ICU's, Python's). For such a text (stale_nfc: true) the ids are those
`tokenizers` gives the text after Python's NFC, which is what the C++ tokenizer must match.
"""
import argparse
import json
import random
import re
import sys
import unicodedata

from tokenizers import Tokenizer


def assigned_code_points():
    """Every character assigned in Python's Unicode (14.0 for 3.11), except surrogates (their classes are
    stable across the Unicode versions of ICU and Oniguruma), in blocks of 128 code points, and the
    blocks in three planes: basic (weight 0.7), supplementary (0.2), the rest (0.1: CJK extensions,
    tags, private use). A pick spreads over scripts instead of landing mostly in CJK and private use."""
    blocks = {}
    for c in range(0x110000):
        if unicodedata.category(chr(c)) not in ("Cn", "Cs"):
            blocks.setdefault(c >> 7, []).append(chr(c))
    planes = [[], [], []]
    for start, chars in blocks.items():
        planes[min(start >> 9, 2)].append(chars)
    return planes


WHITESPACE = [" ", " ", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000",
              "\u2009", "\u200b", "\u2028", "\u2029", "\u202f", "\u3000", "\x1c", "\x1f"]
FRAGMENTS = ["'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "'x", "'", "''", "don't",
             "I'm", "we'VE", "0", "7", "42", "2024", "3.14", "1,000", "٣", "Ⅻ", "½", "²", "!", "?!", "...", "--",
             "->", "==", "{}", "()", "[", "]", "#", "@", "$", "%", "&&", "||", "//", "/*", "*/", "\"", "`",
             "foo", "Bar", "BAZ", "héllo", "e\u0301", "A\u030a", "ñ", "ß", "ǅ", "日本語", "한국어", "\u1100\u1161",
             "Привет", "مرحبا", "שלום", "नमस्ते", "ไทย", "😀", "👨\u200d👩\u200d👧", "🇫🇷", "\u200d", "\ufeff",
             "\ufffd", "ﬁ", "Ａ", "１", "ｶ", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>",
             "</think>", "<|fim_prefix|>", "<|im_sta", "<|im_end|>>", "<<|im_end|>", "<|", "|>"]


def random_unicode(rng, pool):
    text = []
    while len(text) < rng.randint(1, 120):
        block = rng.choice(rng.choices(pool, weights=[0.7, 0.2, 0.1])[0])
        text.extend(rng.choice(block) for _ in range(rng.randint(1, 8)))
    return "".join(text)


def random_bytes(rng, _):
    return rng.randbytes(rng.randint(1, 200)).decode("utf-8", "replace")


def whitespace_runs(rng, _):
    parts = []
    for _ in range(rng.randint(1, 8)):
        run = "".join(rng.choice(WHITESPACE) for _ in range(rng.choice([1, 2, 3, 17, 300])))
        parts.append(run if rng.random() < 0.7 else rng.choice(WHITESPACE) * rng.randint(1, 2000))
        parts.append(rng.choice(FRAGMENTS + ["", "x", "1"]))
    return "".join(parts)


def fragments(rng, _):
    return "".join(rng.choice(FRAGMENTS + WHITESPACE) for _ in range(rng.randint(1, 60)))


def mixed(rng, pool):
    pieces = [random_unicode, fragments, whitespace_runs]
    return "".join(rng.choice(pieces)(rng, pool)[:200] for _ in range(3))


def python_nfc(text, added):
    """NFC of the text between added tokens, which are matched before normalization."""
    parts = added.split(text)
    return "".join(p if i % 2 else unicodedata.normalize("NFC", p) for i, p in enumerate(parts))


def stale_nfc(tokenizer, text, added):
    """Whether `tokenizers`' normalizer disagrees with Python's NFC on a piece of the text."""
    parts = added.split(text)
    return any(tokenizer.normalizer.normalize_str(p) != unicodedata.normalize("NFC", p)
               for i, p in enumerate(parts) if i % 2 == 0)


KINDS = [("unicode", random_unicode), ("bytes", random_bytes), ("whitespace", whitespace_runs),
         ("fragments", fragments), ("mixed", mixed)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tokenizer")
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=1000, help="texts of each kind")
    parser.add_argument("--seed", type=int, default=20240607)
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(args.tokenizer)
    rng = random.Random(args.seed)
    pool = assigned_code_points()
    texts = [(kind, make(rng, pool)) for kind, make in KINDS for _ in range(args.count)]
    contents = sorted((t.content for t in tokenizer.get_added_tokens_decoder().values()), key=len, reverse=True)
    added = re.compile("(" + "|".join(map(re.escape, contents)) + ")")
    stale = [stale_nfc(tokenizer, text, added) for _, text in texts]
    inputs = [python_nfc(text, added) if s else text for (_, text), s in zip(texts, stale)]
    encodings = tokenizer.encode_batch(inputs, add_special_tokens=False)
    with open(args.out, "w", encoding="utf-8") as out:
        for (kind, text), encoding, s in zip(texts, encodings, stale):
            record = {"kind": kind, "text": text, "ids": encoding.ids,
                      "nfc": unicodedata.is_normalized("NFC", text), "stale_nfc": s}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(texts)} texts to {args.out}, {sum(stale)} with marks tokenizers' NFC does not order")


if __name__ == "__main__":
    sys.exit(main())
