#!/usr/bin/env bash
# data.blend: two prepared folders (code with FIM-free text, and chats) blended 3:1.
#   1. one process trains 75% +- 5% of its tokens on the first (metrics.jsonl's source_tokens, which sum to
#      `tokens` and reach TensorBoard);
#   2. kill -9 during a save and the same command line: the resumed run continues the same rows, so its
#      losses and source_tokens are bit-identical to the uninterrupted run's;
#   3. tp=2 and dp=2 under mpirun give the one-process losses (relative 1e-5);
#   4. data.path with data.blend, a bad weight and an unprepared entry exit 2 with one line naming them;
#   5. the Zen-Coder blend recipe validates.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
rng = random.Random(3)
with open(work + "/code.jsonl", "w") as f:
    for i in range(300):
        name = "".join(rng.choice("abcdefgh") for _ in range(5))
        f.write(json.dumps({"text": f"def {name}(x):\n    return x * {rng.randint(2, 99)} + {i}\n"}) + "\n")
with open(work + "/chat.jsonl", "w") as f:
    for i in range(80):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        f.write(json.dumps({"messages": [{"role": "user", "content": f"What is {a}+{b}?"},
                                         {"role": "assistant", "content": str(a + b)}]}) + "\n")
PY
"$zen" data prepare --tokenizer bytes --input "$work/code.jsonl" --output "$work/code" > /dev/null
"$zen" data prepare --tokenizer bytes --input "$work/chat.jsonl" --output "$work/chat" > /dev/null

source "$src/tests/cli/lib/nano_tiny.sh"
blend="data.blend=[{path: $work/code, weight: 3}, {path: $work/chat, weight: 1}]"
tiny=(~data.path "$blend" model.layers=2 "${nano_tiny[@]}" tokenizer.path=bytes optim.lr=2e-3 optim.warmup_steps=0
      train.max_steps=8 train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1
      parallel.timeout_s=120 checkpoint.interval=3)
recipe=configs/recipes/zen-nano-lora.yaml
train() {  # train RANKS DIR [OVERRIDES...]: exit status in $rc, log in DIR.log
  local ranks=$1 dir=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  rc=0
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$dir" >>"$dir.log" 2>&1 || rc=$?
}
must() { [ "$rc" = 0 ] || { echo "run failed ($rc):"; tail -20 "$1.log"; exit 1; }; }

train 1 "$work/one"; must "$work/one"
ZEN_TEST_FAULT=0:6:killsave train 1 "$work/killed"
[ "$rc" != 0 ] || { echo "the killed save did not end the run"; exit 1; }
train 1 "$work/killed"; must "$work/killed"
grep -q "resumed from .*step-00000003" "$work/killed.log" || { echo "did not resume from step 3"; tail "$work/killed.log"; exit 1; }
train 2 "$work/tp2" parallel.tensor=2; must "$work/tp2"
train 2 "$work/dp2"; must "$work/dp2"

"$python" - "$work" <<'PY'
import glob, json, os, sys
work = sys.argv[1]
rows = lambda run: [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
one = rows("one")
code, chat = os.path.join(work, "code"), os.path.join(work, "chat")
for r in one:
    assert set(r["source_tokens"]) == {code, chat}, r["source_tokens"]
    assert sum(r["source_tokens"].values()) == r["tokens"], r
share = one[-1]["source_tokens"][code] / one[-1]["tokens"]
print("3:1 blend: %.1f%% of %d tokens from the first folder" % (100 * share, one[-1]["tokens"]))
assert abs(share - 0.75) <= 0.05, share
events = open(glob.glob(os.path.join(work, "one", "events.out.tfevents.*"))[0], "rb").read()
assert ("data/source_tokens/" + code).encode() in events and ("data/source_tokens/" + chat).encode() in events
killed = rows("killed")
assert [r["step"] for r in killed] == list(range(1, 9)), [r["step"] for r in killed]
for a, b in zip(one, killed):
    assert a["loss"] == b["loss"] and a["grad_norm"] == b["grad_norm"] and a["source_tokens"] == b["source_tokens"], (a, b)
print("kill -9 at step 6, resumed from step 3: losses and source_tokens bit-identical over 8 steps")
for layout in ["tp2", "dp2"]:
    other = rows(layout)
    worst = max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(one, other))
    assert len(other) == 8 and worst <= 1e-5, (layout, worst)
    assert all(a["source_tokens"] == b["source_tokens"] for a, b in zip(one, other))
    print("%s: losses within %.1e of one process" % (layout, worst))
PY

bad() {  # bad WORDS OVERRIDES...: zen validate exits 2 with one line holding WORDS
  local words=$1
  shift
  rc=0
  "$zen" validate "$recipe" "$@" >/dev/null 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l <"$work/err")" = 1 ] && grep -qF -- "$words" "$work/err" ||
    { echo "expected exit 2 naming '$words', got $rc:"; cat "$work/err"; exit 1; }
  echo "bad input: $(cat "$work/err")"
}
bad "data.blend: and data.path" "$blend"
bad "data.blend: [1].weight: must be positive" ~data.path "data.blend=[{path: $work/code}, {path: $work/chat, weight: -1}]"
bad "data.blend: [0].weight: expected a number" ~data.path "data.blend=[{path: $work/code, weight: lots}]"
rc=0
"$zen" train "$recipe" "${tiny[@]}" "data.blend=[{path: $work/code, weight: 3}, {path: $work/none, weight: 1}]" \
  output_dir="$work/none-run" >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 2 ] && grep -qF "data.blend[1].path: $work/none holds no prepared shards" "$work/err" ||
  { echo "unprepared entry: expected exit 2 naming it, got $rc:"; cat "$work/err"; exit 1; }
echo "bad input: $(tail -1 "$work/err")"

"$zen" validate configs/recipes/zen-coder-blend-lora.yaml --json | "$python" -c '
import json, sys
blend = json.load(sys.stdin)["config"]["data"]["blend"]
assert [e["weight"] for e in blend] == [3, 1], blend
print("zen-coder-blend-lora.yaml validates: %s" % blend)'
echo PASS
