#!/usr/bin/env bash
# `zen data prepare` throughput per reader: the same generated records as JSONL, gzip and zstd JSONL,
# Parquet (pyarrow, zstd-compressed columns), and repositories (as a folder tree and as JSONL rows), with
# Qwen3's tokenizer. Prints a markdown table (best of REPEATS runs each) for docs/data.md.
#   bash bench/prepare/run.sh [ZEN] [TOKENIZER_JSON] [THREADS] [REPEATS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
zen=${1:-$src/build/zen}
tok=${2:-$src/../shared/data/qwen3-tokenizer/tokenizer.json}
threads=${3:-$(nproc)}
repeats=${4:-3}
python=$src/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" <<'PY'
import gzip, json, os, random, sys
import pyarrow as pa, pyarrow.parquet as pq
work = sys.argv[1]
rng = random.Random(0)
words = ("the of and to in is for that with on as it by this be are from at or an was which code data model "
         "return def class import self value list dict none true false print range len").split()
def sentence(n):
    return " ".join(rng.choice(words) for _ in range(n))
chats = [{"messages": [{"role": "system", "content": "You are helpful."},
                       {"role": "user", "content": sentence(rng.randint(10, 80))},
                       {"role": "assistant", "content": sentence(rng.randint(20, 200))}]} for _ in range(20000)]
texts = [{"text": sentence(rng.randint(50, 400))} for _ in range(20000)]
for name, records in [("chat", chats), ("text", texts)]:
    lines = "".join(json.dumps(r) + "\n" for r in records)
    open(f"{work}/{name}.jsonl", "w").write(lines)
    gzip.open(f"{work}/{name}.jsonl.gz", "wt").write(lines)
    key = "messages" if name == "chat" else "text"
    pq.write_table(pa.table({key: [r[key] for r in records]}), f"{work}/{name}.parquet", compression="zstd")
rows = []
for r in range(200):
    for f in range(20):
        path = "pkg%d/mod%02d.py" % (f % 3, f)
        content = "".join("def f%d(x):\n    return %s\n\n" % (k, sentence(8)) for k in range(rng.randint(3, 30)))
        rows.append({"repo": "repo%03d" % r, "path": path, "content": content})
        if r < 20:
            os.makedirs(f"{work}/repos/repo{r:03d}/pkg{f % 3}", exist_ok=True)
            open(f"{work}/repos/repo{r:03d}/{path}", "w").write(content)
open(f"{work}/repos.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
PY
if command -v zstd > /dev/null; then
  zstd -q -19 "$work/chat.jsonl" -o "$work/chat.jsonl.zst"
fi

run() {  # run LABEL MB ARGS...: best seconds of REPEATS
  local label=$1 mb=$2
  shift 2
  local best=
  for _ in $(seq "$repeats"); do
    rm -rf "$work/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$zen" data prepare --tokenizer "$tok" --threads "$threads" --output "$work/out" "$@" > "$work/summary.json"
    t1=$(date +%s.%N)
    best=$("$python" -c "import sys; t = float(sys.argv[2]) - float(sys.argv[1]); b = sys.argv[3]; print(min(t, float(b)) if b else t)" "$t0" "$t1" "$best")
  done
  "$python" -c "
import json, sys
s = json.load(open(sys.argv[1])); t = float(sys.argv[3]); mb = float(sys.argv[4])
print('| %s | %d | %.2f | %.1f | %.0f |' % (sys.argv[2], s['tokens'], t, mb / t, s['tokens'] / t / 1e3))" \
    "$work/summary.json" "$label" "$best" "$mb"
}
mb() { du -cb "$@" | tail -1 | awk '{print $1 / 1e6}'; }
echo "| input | tokens | seconds | MB/s (as JSONL) | k tokens/s |"
echo "| --- | ---: | ---: | ---: | ---: |"
chat_mb=$(mb "$work/chat.jsonl"); text_mb=$(mb "$work/text.jsonl")
run "chat .jsonl" "$chat_mb" --input "$work/chat.jsonl"
run "chat .jsonl.gz" "$chat_mb" --input "$work/chat.jsonl.gz"
[ -f "$work/chat.jsonl.zst" ] && run "chat .jsonl.zst" "$chat_mb" --input "$work/chat.jsonl.zst"
run "chat .parquet" "$chat_mb" --input "$work/chat.parquet"
run "text .jsonl" "$text_mb" --input "$work/text.jsonl"
run "text .parquet" "$text_mb" --input "$work/text.parquet"
run "repo rows .jsonl (200 repositories)" "$(mb "$work/repos.jsonl")" --format repo --input "$work/repos.jsonl" --seq-len 4096
run "repo folders (20 repositories)" "$(du -sb "$work/repos" | awk '{print $1 / 1e6}')" --format repo --seq-len 4096 \
  --input "$work"/repos/*
echo
echo "Measured $(date -u +%Y-%m-%d) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) logical CPUs, --threads $threads, load average $(cut -d' ' -f1 /proc/loadavg) at the end; best of $repeats."
