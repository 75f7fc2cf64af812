#!/usr/bin/env bash
# `zen sweep`: a 2x2 grid (lora.rank x optim.lr) of tiny demo runs, each its own `zen train` process.
# Proves: the summary has a row per run with finite losses that depend on lr; a re-run skips complete
# runs without touching them; a deleted run is the only one redone, and a crash in it (injected) is
# recorded as that run's status while the sweep goes on; the next re-run resumes it from its checkpoint
# to the same losses; bad sweep files exit 2 naming the file and key before any run starts; --slurm
# renders a job array and a dependent summary job and submits both through sbatch.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

cat > "$work/s.yaml" <<EOF
recipe: configs/recipes/zen-nano-lora.yaml
overrides: [data.source=demo, model.layers=2, model.hidden=128, model.heads=4, model.kv_heads=2,
            model.head_dim=32, model.ffn=256, model.vocab=512, optim.warmup_steps=0, train.max_steps=5,
            train.seq_len=256, train.global_batch_size=16, train.threads=1, checkpoint.interval=2]
grid:
  lora.rank: [4, 8]
  optim.lr: [1.0e-3, 4.0e-3]
output_dir: $work/sweep
EOF

fail() { echo "FAIL: $*"; exit 1; }
metrics_sums() { sha256sum "$work"/sweep/*/metrics.jsonl; }

# 1. Four runs, one after another.
start=$(date +%s.%N)
"$zen" sweep "$work/s.yaml" > "$work/first.log" 2>&1 || { cat "$work/first.log"; fail "the sweep failed"; }
first_s=$(echo "$(date +%s.%N) - $start" | bc)
"$python" - "$work/sweep" <<'PY'
import csv, math, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "summary.csv"))))
assert len(rows) == 4, rows
for col in ["run", "lora.rank", "optim.lr", "final_loss", "tokens_per_s", "steps", "status"]:
    assert col in rows[0], (col, list(rows[0]))
for r in rows:
    assert r["status"] == "complete" and r["steps"] == "5", r
    assert math.isfinite(float(r["final_loss"])) and float(r["tokens_per_s"]) > 0, r
    # Each run's own resolved config carries its swept values.
    resolved = open(os.path.join(out, r["run"], "config.resolved.yaml")).read()
    assert "rank: %s\n" % r["lora.rank"] in resolved, (r["run"], "lora.rank")
loss = {(r["lora.rank"], r["optim.lr"]): float(r["final_loss"]) for r in rows}
for rank in ["4", "8"]:
    a, b = loss[(rank, "1.0e-3")], loss[(rank, "4.0e-3")]
    assert abs(a - b) > 1e-3, ("lr made no difference", rank, a, b)
print("summary:", {k: round(v, 4) for k, v in loss.items()})
assert open(os.path.join(out, "summary.md")).read().count("| complete |") == 4
PY
metrics_sums > "$work/sums.before"

# 2. Re-running skips all four and leaves their files alone.
start=$(date +%s.%N)
"$zen" sweep "$work/s.yaml" > "$work/second.log" 2>&1 || { cat "$work/second.log"; fail "the re-run failed"; }
second_s=$(echo "$(date +%s.%N) - $start" | bc)
[ "$(grep -c ', skipped$' "$work/second.log")" -eq 4 ] || { cat "$work/second.log"; fail "expected 4 skipped runs"; }
grep -q "training" "$work/second.log" && { cat "$work/second.log"; fail "a complete run trained again"; }
metrics_sums | cmp -s - "$work/sums.before" || fail "a skipped run's metrics.jsonl changed"
echo "first sweep ${first_s}s (4 runs), re-run ${second_s}s (4 skipped)"

# 3. Delete one run: only it runs again. An injected failure at step 4 (after the checkpoint at step 2)
#    is recorded as its status; the sweep exits 1 with the summary written.
victim=$(ls "$work/sweep" | grep '^lora.rank=8,optim.lr=1.0e-3$')
cp "$work/sweep/$victim/metrics.jsonl" "$work/victim.metrics.jsonl"
rm -rf "${work:?}/sweep/$victim"
set +e
ZEN_TEST_FAULT=0:4:fail "$zen" sweep "$work/s.yaml" > "$work/third.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$work/third.log"; fail "a failed run: expected the sweep to exit 1, got $rc"; }
[ "$(grep -c ', skipped$' "$work/third.log")" -eq 3 ] || { cat "$work/third.log"; fail "expected 3 skipped runs"; }
[ "$(grep -c ': training, ' "$work/third.log")" -eq 1 ] || { cat "$work/third.log"; fail "expected one run to train"; }
grep -q "^\"$victim\",8,1.0e-3,.*,failed (exit 1)$" "$work/sweep/summary.csv" || { cat "$work/sweep/summary.csv"; fail "status"; }

# 4. The next re-run resumes that run from its step-2 checkpoint and ends with the original losses.
"$zen" sweep "$work/s.yaml" > "$work/fourth.log" 2>&1 || { cat "$work/fourth.log"; fail "the resuming sweep failed"; }
grep -q "$victim: training, resuming at step 2 of 5" "$work/fourth.log" || { cat "$work/fourth.log"; fail "no resume"; }
"$python" - "$work" "$victim" <<'PY'
import csv, json, os, sys
work, victim = sys.argv[1], sys.argv[2]
before = [json.loads(l)["loss"] for l in open(os.path.join(work, "victim.metrics.jsonl"))]
after = [json.loads(l)["loss"] for l in open(os.path.join(work, "sweep", victim, "metrics.jsonl"))]
assert len(after) == 5 and all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(after, before)), (before, after)
rows = list(csv.DictReader(open(os.path.join(work, "sweep", "summary.csv"))))
assert [r["status"] for r in rows] == ["complete"] * 4, rows
print("deleted run redone alone; crash at step 4 recorded, resumed from step 2 to the same losses:",
      [round(x, 5) for x in after])
PY

# 5. Bad sweep files exit 2 naming the file and the key, before any run starts.
expect_bad() {  # expect_bad NAME PATTERN YAML
  printf '%s\n' "$3" > "$work/$1.yaml"
  set +e
  "$zen" sweep "$work/$1.yaml" > "$work/$1.log" 2>&1; local rc=$?
  set -e
  [ "$rc" -eq 2 ] || { cat "$work/$1.log"; fail "$1: expected exit 2, got $rc"; }
  grep -q "$work/$1.yaml.*$2" "$work/$1.log" || { cat "$work/$1.log"; fail "$1: message does not name the file and $2"; }
  [ ! -e "$work/bad-out" ] || fail "$1: a run started"
  echo "$1: $(cat "$work/$1.log")"
}
base="recipe: configs/recipes/zen-nano-lora.yaml
overrides: [data.source=demo]
output_dir: $work/bad-out"
expect_bad unknown_swept_key "lora.rnak" "$base
grid: {optim.lr: [1.0e-3, 2.0e-3], lora.rnak: [4]}"
expect_bad unequal_zip "optim.lr has 3 values" "$base
zip: {lora.rank: [4, 8], optim.lr: [1.0e-3, 2.0e-3, 3.0e-3]}"
expect_bad unknown_sweep_key "grids: unknown key" "$base
grids: {lora.rank: [4, 8]}"
expect_bad empty_grid "grid: empty" "$base
grid: {}"

# 6. --slurm: the array script (a task per run) and the summary job, submitted through sbatch (a stand-in
#    here that records its arguments); running a task's script does what the task would.
"$zen" sweep "$work/s.yaml" --slurm --dry-run > "$work/dry.txt"
grep -q '^#SBATCH --array=0-3$' "$work/dry.txt" || { cat "$work/dry.txt"; fail "no 4-task array"; }
mkdir "$work/bin"
cat > "$work/bin/sbatch" <<EOF
#!/usr/bin/env bash
echo "\$*" >> "$work/sbatch.calls"
n=\$(wc -l < "$work/sbatch.calls")
[ "\$n" -eq 1 ] && echo "4100;cluster" || echo "4101"
EOF
chmod +x "$work/bin/sbatch"
PATH="$work/bin:$PATH" "$zen" sweep "$work/s.yaml" --slurm --sbatch --time=00:10:00 2> "$work/slurm.log" \
  || { cat "$work/slurm.log"; fail "--slurm"; }
grep -q "submitted job array 4100 (4 tasks) and summary job 4101" "$work/slurm.log" || { cat "$work/slurm.log"; fail "ids"; }
sed -n 1p "$work/sbatch.calls" | grep -q -- "--parsable $work/sweep/slurm/sweep-array.sh$" || fail "array submission"
sed -n 2p "$work/sbatch.calls" | grep -q -- "--parsable --dependency=afterany:4100 $work/sweep/slurm/sweep-summary.sh$" \
  || { cat "$work/sbatch.calls"; fail "summary submission"; }
grep -q '^#SBATCH --time=00:10:00$' "$work/sweep/slurm/sweep-array.sh" || fail "--sbatch option missing"
rm "$work/sweep/summary.csv"
(cd /tmp && SLURM_ARRAY_TASK_ID=2 bash "$work/sweep/slurm/sweep-array.sh") 2>&1 | grep -q "\[3/4\] .*, skipped$" \
  || fail "array task 2"
(cd /tmp && bash "$work/sweep/slurm/sweep-summary.sh") 2> /dev/null
[ "$(wc -l < "$work/sweep/summary.csv")" -eq 5 ] || fail "the summary job did not rewrite summary.csv"

# 7. Preemption of an array task: SLURM's SIGUSR1 to the task's shell reaches the run through zen sweep; the
#    run saves a checkpoint and exits 75, and the task requeues itself (a stand-in scontrol records it).
sed -e "s|^output_dir: .*|output_dir: $work/long|" -e "s|train.max_steps=5|train.max_steps=200|" \
    -e "s|lora.rank: \[4, 8\]|lora.rank: [4]|" -e "s|optim.lr: \[1.0e-3, 4.0e-3\]|optim.lr: [1.0e-3]|" \
    "$work/s.yaml" > "$work/long.yaml"
printf '#!/usr/bin/env bash\necho "$*" >> "%s/scontrol.calls"\n' "$work" > "$work/bin/scontrol"
chmod +x "$work/bin/scontrol"
"$zen" sweep "$work/long.yaml" --slurm --dry-run | awk '/^#!\/bin\/bash$/ {n++} n == 1' > "$work/long-array.sh"
PATH="$work/bin:$PATH" SLURM_ARRAY_JOB_ID=4200 SLURM_ARRAY_TASK_ID=0 bash "$work/long-array.sh" > "$work/long.log" 2>&1 &
task=$!
for _ in $(seq 600); do
  [ "$(cat "$work"/long/*/metrics.jsonl 2> /dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1
done
kill -USR1 "$task"
set +e
wait "$task"; rc=$?
set -e
[ "$rc" -eq 75 ] || { cat "$work/long.log"; fail "a preempted array task: expected exit 75, got $rc"; }
grep -qx "requeue 4200_0" "$work/scontrol.calls" || { cat "$work/long.log"; fail "the task did not requeue itself"; }
"$zen" sweep "$work/long.yaml" --dry-run > "$work/long.plan"
grep -q "\[preempted, [0-9]*/200 steps\]" "$work/long.plan" || { cat "$work/long.plan"; fail "state after preemption"; }
echo "preempted array task: exit 75, requeued, $(grep -o 'preempted, [0-9]*/200 steps' "$work/long.plan")"
echo "PASS"
