"""Tokenizer encode throughput: zen (bench/tokenizer/tokenizer_bench.cpp) against Hugging Face `tokenizers`
on the same tokenizer.json and the same texts, one thread and all threads, in one run.

usage: python bench/tokenizer/run.py --bench BUILD/bench/zen_tokenizer_bench --tokenizer tokenizer.json
                                     [--input TEXTS.jsonl] [--mb 24] [--repeat 3] [--doc docs/data.md]

Without --input the corpus is built from this Python's standard library sources (code with English
comments and docstrings) plus the multilingual texts of ../shared/data/qwen3-tokenizer/parity.jsonl
when present, in two layouts: one document per file, and the same text cut at line ends into documents
of about 2 KB (`tokenizers` is faster per byte on short documents). `tokenizers` runs encode_batch on the same
documents: once with RAYON_NUM_THREADS=1 (one thread), once with its default pool (all cores), each in
a fresh process, after a warm-up pass, best of --repeat passes. The table goes into --doc between the
markers <!-- tokenizer-bench --> and <!-- /tokenizer-bench -->.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile

HF_SNIPPET = r"""
import json, sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
repeat = int(sys.argv[3])
size = sum(len(t.encode("utf-8")) for t in texts)
best = 1e30
for p in range(repeat + 1):
    start = time.perf_counter()
    tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
    if p:
        best = min(best, time.perf_counter() - start)
print(json.dumps({"bytes": size, "tokens": tokens, "seconds": best, "mb_per_s": size / 1e6 / best}))
"""


def chunks(text, size):
    """The text cut at line ends into pieces of about `size` characters."""
    out, current = [], ""
    for line in text.splitlines(keepends=True):
        current += line
        if len(current) >= size:
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def build_corpus(path, megabytes, parity, chunk):
    """Writes JSON lines {"text"}: stdlib .py files (sorted, so the corpus is the same on every run),
    whole (chunk = 0) or cut into pieces of about `chunk` characters."""
    texts, size = [], 0
    if os.path.exists(parity):
        for line in open(parity, encoding="utf-8"):
            texts.append(json.loads(line)["text"])
    stdlib = sysconfig.get_paths()["stdlib"]
    for root, dirs, files in sorted(os.walk(stdlib)):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".py") or size >= megabytes * 1e6:
                continue
            try:
                text = open(os.path.join(root, name), encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            texts.extend(chunks(text, chunk) if chunk else [text])
            size += len(text.encode("utf-8"))
    with open(path, "w", encoding="utf-8") as out:
        for t in texts:
            out.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    return len(texts), size


def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = re.search(r"Model name:\s*(.+)", lscpu)
    load = os.getloadavg()[0]
    return (f"{model.group(1).strip() if model else platform.processor()}, {os.cpu_count()} logical CPUs "
            f"(load average {load:.1f} when the run ended)")


def write_table(doc, table):
    begin, end = "<!-- tokenizer-bench -->", "<!-- /tokenizer-bench -->"
    text = open(doc, encoding="utf-8").read() if os.path.exists(doc) else ""
    block = f"{begin}\n{table}{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    open(doc, "w", encoding="utf-8").write(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--input")
    parser.add_argument("--mb", type=float, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--doc", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs", "data.md"))
    args = parser.parse_args()
    cores = os.cpu_count()
    layouts = [("files", 0), ("2 KB", 2000)] if args.input is None else [("input", 0)]
    rows, description = [], args.input
    with tempfile.TemporaryDirectory() as tmp:
        for layout, chunk in layouts:
            corpus = args.input
            if corpus is None:
                corpus = os.path.join(tmp, f"corpus-{chunk}.jsonl")
                parity = os.path.join(os.path.dirname(args.tokenizer), "parity.jsonl")
                docs, size = build_corpus(corpus, args.mb, parity, chunk)
                layout = f"{docs} documents ({layout})"
                description = (f"{size / 1e6:.1f} MB of Python {platform.python_version()} standard library "
                               f"sources + parity.jsonl")
            hf = [sys.executable, "-c", HF_SNIPPET, args.tokenizer, corpus, str(args.repeat)]
            for threads in (1, cores):
                zen = run_json([args.bench, "--tokenizer", args.tokenizer, "--input", corpus,
                                "--threads", str(threads), "--repeat", str(args.repeat)])
                ref = run_json(hf, dict(os.environ, RAYON_NUM_THREADS=str(threads)))
                if zen["tokens"] != ref["tokens"]:
                    sys.exit(f"token counts differ: zen {zen['tokens']}, tokenizers {ref['tokens']}")
                rows.append((layout, threads, zen, ref))
                print(f"{layout}, {threads} thread(s): zen {zen['mb_per_s']:.1f} MB/s, "
                      f"tokenizers {ref['mb_per_s']:.1f} MB/s", file=sys.stderr)
    import tokenizers
    table = (f"Measured {datetime.date.today()} on {machine()}; corpus: {description}; "
             f"tokenizers {tokenizers.__version__}; best of {args.repeat} passes after a warm-up; zen and "
             f"tokenizers produce the same number of tokens.\n\n"
             "| documents | tokens | threads | zen MB/s | tokenizers MB/s | zen / tokenizers |\n"
             "| --- | ---: | ---: | ---: | ---: | ---: |\n")
    for layout, threads, zen, ref in rows:
        table += (f"| {layout} | {zen['tokens']:,} | {threads} | {zen['mb_per_s']:.1f} | {ref['mb_per_s']:.1f} | "
                  f"{zen['mb_per_s'] / ref['mb_per_s']:.1f}x |\n")
    write_table(args.doc, table)
    print(table)


if __name__ == "__main__":
    main()
