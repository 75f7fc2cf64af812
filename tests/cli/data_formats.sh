#!/usr/bin/env bash
# `zen data prepare`'s input formats from the command line: ShareGPT, Alpaca (a JSON array) and gzip JSONL
# prepare; a malformed row in each exits 2 naming FILE and row, and --skip-bad counts it instead.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$python" - <<'PY'
import gzip, json
share = [{"conversations": [{"from": "human", "value": "q%d" % i}, {"from": "gpt", "value": "a%d" % i}]} for i in range(5)]
alpaca = [{"instruction": "add %d and 1" % i, "input": "", "output": str(i + 1)} for i in range(5)]
chat = [{"messages": [{"role": "user", "content": "hi %d" % i}, {"role": "assistant", "content": "yo"}]} for i in range(5)]
def lines(records, bad):
    return "".join(json.dumps(r) + "\n" for r in records[:2]) + bad + "\n" + "".join(json.dumps(r) + "\n" for r in records[2:])
open("share.jsonl", "w").write(lines(share, ""))
open("share-bad.jsonl", "w").write(lines(share, '{"conversations": [{"from": "bot", "value": "x"}]}'))
open("alpaca.json", "w").write(json.dumps(alpaca))
open("alpaca-bad.json", "w").write(json.dumps(alpaca[:2] + [{"instruction": "no output"}] + alpaca[2:]))
gzip.open("chat.jsonl.gz", "wt").write(lines(chat, ""))
gzip.open("chat-bad.jsonl.gz", "wt").write(lines(chat, "{oops"))
PY

for name in share.jsonl alpaca.json chat.jsonl.gz; do
  "$zen" data prepare --tokenizer bytes --input "$name" --output "out-$name" > "$name.summary"
  grep -q '"documents":5' "$name.summary" || { echo "$name: expected 5 documents:"; cat "$name.summary"; exit 1; }
done

check_bad() {  # FILE WHERE: exit 2 naming WHERE; with --skip-bad, 5 documents and 1 skipped
  set +e
  "$zen" data prepare --tokenizer bytes --input "$1" --output "bad-$1" 2> err; rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "$1: expected exit 2, got $rc"; cat err; exit 1; }
  grep -qF "$2" err || { echo "$1: the message does not name $2:"; cat err; exit 1; }
  "$zen" data prepare --tokenizer bytes --input "$1" --output "skip-$1" --skip-bad > skip.json
  grep -q '"documents":5' skip.json && grep -q '"skipped_records":1' skip.json || { echo "$1 --skip-bad:"; cat skip.json; exit 1; }
}
check_bad share-bad.jsonl "share-bad.jsonl:3: conversations[0].from"
check_bad alpaca-bad.json "alpaca-bad.json: record 3: output"
check_bad chat-bad.jsonl.gz "chat-bad.jsonl.gz:3: not valid JSON"
echo "PASS"
