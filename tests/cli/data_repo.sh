#!/usr/bin/env bash
# `zen data prepare --format repo` (Zen-Coder's repository-level documents), with Qwen3's tokenizer:
#   1. a generated repository folder becomes one document laid out as Qwen2.5-Coder's
#      <|repo_name|>NAME\n<|file_sep|>PATH\nCONTENT\n... <|endoftext|>, files in path order, hidden folders,
#      binary files and symbolic links left out; its ids are the `tokenizers` ids of that text;
#   2. the same files as JSONL rows {repo, path, content}, in another order, prepare to the same shards;
#   3. --seq-len splits it at file boundaries: every part starts with the <|repo_name|> line, holds whole
#      files, and fits (unless a file alone does not);
#   4. --fim-rate 1 rearranges every file for fill-in-the-middle on its own;
#   5. it trains (a tiny model over Qwen3's vocabulary, 3 steps);
#   6. a row without content exits 2 naming FILE:LINE; the byte tokenizer (no <|repo_name|>) exits 2.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
qwen=${ZEN_QWEN3_TOKENIZER:-$src/../shared/data/qwen3-tokenizer}
[ -d "$qwen" ] || qwen=$(dirname "$qwen")
[ -f "$qwen/tokenizer.json" ] || { echo "SKIP: Qwen3's tokenizer.json not found (set ZEN_QWEN3_TOKENIZER)"; exit 0; }
tok=$qwen/tokenizer.json

"$python" - <<'PY'
import json, os, random
rng = random.Random(5)
files = {"README.md": "# toyrepo\n\nAdds numbers.\n", "src/add.py": "def add(a, b):\n    return a + b\n",
         "src/util/fmt.py": "def fmt(x):\n    return f'{x:>8}'\n", "tests/test_add.py": "from src.add import add\n\n"
         "def test_add():\n    assert add(2, 3) == 5\n", "setup.cfg": "[metadata]\nname = toyrepo\n"}
for i in range(12):
    files["src/gen/m%02d.py" % i] = "".join("def f%d_%d(x):\n    return x * %d\n\n" % (i, k, rng.randint(2, 99)) for k in range(6))
for path, text in files.items():
    os.makedirs(os.path.dirname(os.path.join("toyrepo", path)) or "toyrepo", exist_ok=True)
    open(os.path.join("toyrepo", path), "w").write(text)
os.makedirs("toyrepo/.git", exist_ok=True)
open("toyrepo/.git/config", "w").write("[core]\n")
open("toyrepo/logo.png", "wb").write(b"\x89PNG\r\n\x1a\n\x00\x00")
os.symlink("missing.py", "toyrepo/dangling.py")   # symbolic links are left out: a dangling one,
os.symlink("..", "toyrepo/src/up")                # one to a folder above (a loop),
os.symlink("README.md", "toyrepo/README_copy.md")  # one to a file listed anyway
rows = [{"repo": "toyrepo", "path": p, "content": t} for p, t in files.items()]
rng.shuffle(rows)
rows.append({"repo": "other", "path": "a.py", "content": "x = 1\n"})
with open("rows.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
with open("bad.jsonl", "w") as f:
    f.write(json.dumps(rows[0]) + "\n" + json.dumps({"repo": "toyrepo", "path": "x.py"}) + "\n")
expected = "<|repo_name|>toyrepo\n" + "".join("<|file_sep|>%s\n%s\n" % (p, files[p]) for p in sorted(files)) + "<|endoftext|>"
json.dump({"expected": expected, "files": files}, open("expected.json", "w"))
PY

"$zen" data prepare --tokenizer "$tok" --format repo --input toyrepo --output folder > /dev/null
"$zen" data prepare --tokenizer "$tok" --format repo --input rows.jsonl --output rows > rows.json
"$zen" data prepare --tokenizer "$tok" --format repo --input toyrepo --seq-len 160 --output split > /dev/null
"$zen" data prepare --tokenizer "$tok" --format repo --input toyrepo --fim-rate 1 --seed 3 --output fim > /dev/null
"$python" - "$tok" <<'PY'
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
def documents(folder):
    ids = open(folder + "/shard-00000.ids", "rb").read()
    ids = [int.from_bytes(ids[i:i + 4], "little") for i in range(0, len(ids), 4)]
    docs = open(folder + "/shard-00000.docs", "rb").read()
    docs = [int.from_bytes(docs[i:i + 8], "little") for i in range(0, len(docs), 8)]
    return [ids[a:b] for a, b in zip(docs, docs[1:])]
e = json.load(open("expected.json"))
expected, files = e["expected"], e["files"]
[folder] = documents("folder")
assert tok.decode(folder, skip_special_tokens=False) == expected, tok.decode(folder, skip_special_tokens=False)
assert folder == tok.encode(expected, add_special_tokens=False).ids
print("folder: one document, %d tokens, exactly the layout's tokenizers ids (%d files, .git and logo.png left out)"
      % (len(folder), len(files)))
rows = documents("rows")
assert rows[0] == folder and len(rows) == 2, "JSONL rows of the same repository, shuffled, give the same document"
assert tok.decode(rows[1], skip_special_tokens=False) == "<|repo_name|>other\n<|file_sep|>a.py\nx = 1\n\n<|endoftext|>"
print("rows.jsonl: the same document, then the next repository's")
split = documents("split")
header = "<|repo_name|>toyrepo\n"
seen = []
for part in split:
    text = tok.decode(part, skip_special_tokens=False)
    assert text.startswith(header + "<|file_sep|>") and text.endswith("\n<|endoftext|>"), text
    paths = [chunk.split("\n", 1)[0] for chunk in text[len(header):-len("<|endoftext|>")].split("<|file_sep|>")[1:]]
    assert text == header + "".join("<|file_sep|>%s\n%s\n" % (p, files[p]) for p in paths) + "<|endoftext|>"
    assert len(part) <= 160 or len(paths) == 1, (len(part), paths)
    seen += paths
assert seen == sorted(files) and len(split) > 2, (seen, len(split))
print("--seq-len 160: %d parts of %s tokens, split at file boundaries, each with the repo line" %
      (len(split), [len(p) for p in split]))
fim = tok.decode(documents("fim")[0], skip_special_tokens=False)
assert fim.endswith("\n<|endoftext|>"), fim
for chunk in fim[:-len("<|endoftext|>")].split("<|file_sep|>")[1:]:
    path, body = chunk.split("\n", 1)
    assert body.startswith("<|fim_prefix|>") and body.endswith("\n"), chunk
    pre, rest = body[len("<|fim_prefix|>"):-1].split("<|fim_suffix|>")
    suf, mid = rest.split("<|fim_middle|>")
    assert pre + mid + suf == files[path], path
print("--fim-rate 1: every file rearranged on its own (prefix + middle + suffix = the file)")
PY

source "$src/tests/cli/lib/nano_tiny.sh"
"$zen" train "$src/configs/recipes/zen-nano-lora.yaml" data.path=split tokenizer.path="$tok" model.layers=1 \
  "${nano_tiny[@]}" model.vocab=151936 train.max_steps=3 train.seq_len=128 train.global_batch_size=2 \
  train.micro_batch_size=2 train.threads=1 output_dir=run > train.log 2>&1 || { cat train.log; exit 1; }
[ "$(wc -l < run/metrics.jsonl)" = 3 ] || { echo "expected 3 steps"; exit 1; }
echo "trained 3 steps on the repository's parts"

bad() {  # bad WORDS ARGS...: exit 2 with WORDS in the message
  local words=$1
  shift
  rc=0
  "$zen" data prepare --format repo --output "bad-$RANDOM" "$@" > /dev/null 2> err || rc=$?
  [ "$rc" = 2 ] && grep -qF -- "$words" err || { echo "expected exit 2 naming '$words', got $rc:"; cat err; exit 1; }
  echo "bad input: $(cat err)"
}
bad "bad.jsonl:2: content: expected a string" --tokenizer "$tok" --input bad.jsonl
bad "has no <|repo_name|>" --tokenizer bytes --input toyrepo
echo PASS
