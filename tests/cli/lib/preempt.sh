# Helpers for the preemption tests (sourced; tests/cli/lib/ holds no tests of its own). They expect
# $python (for JSON) and exit the test with a message on any failure.

# wait_for_steps DIR N PID: until DIR/metrics.jsonl holds N steps; fails if PID ends first or after 60 s.
wait_for_steps() {
  local dir=$1 n=$2 pid=$3 deadline=$((SECONDS + 60))
  until [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l <"$dir/metrics.jsonl")" -ge "$n" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "the run ended before step $n"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no step $n in $dir after 60 s"; return 1; }
    sleep 0.05
  done
}

# rank_pid RANK DIR: the pid of the zen process of that rank (OMPI_COMM_WORLD_RANK or SLURM_PROCID) whose
# command line names output_dir=DIR.
rank_pid() {
  local rank=$1 dir=$2 pid
  for pid in $(pgrep -x zen); do
    grep -qF "output_dir=$dir" "/proc/$pid/cmdline" 2>/dev/null || continue
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxE "(OMPI_COMM_WORLD_RANK|SLURM_PROCID)=$rank" || continue
    echo "$pid"
    return 0
  done
  echo "no zen process of rank $rank for $dir" >&2
  return 1
}

# expect_preempted NAME DIR LOG RC SIGNAL [CODE WORD]: the run exited CODE (RC; default 75) saying
# "WORD at step K (SIGNAL)" (default "preempted"), checkpoints/latest is step K and metrics.jsonl holds
# steps 1..K. Sets $stopped to K.
expect_preempted() {
  local name=$1 dir=$2 log=$3 rc=$4 signal=$5 code=${6:-75} word=${7:-preempted}
  [ "$rc" = "$code" ] || { echo "$name: expected exit $code after the signal, got $rc"; tail -20 "$log"; exit 1; }
  stopped=$(sed -n "s/.*zen train: $word at step \([0-9]*\) ($signal): checkpoint saved, exiting with $code.*/\1/p" "$log" | tail -1)
  [ -n "$stopped" ] || { echo "$name: no '$word at step K ($signal) ... exiting with $code' line"; tail -20 "$log"; exit 1; }
  [ "$(cat "$dir/checkpoints/latest")" = "step-$(printf %08d "$stopped")" ] ||
    { echo "$name: latest is $(cat "$dir/checkpoints/latest"), not the step it stopped at ($stopped)"; exit 1; }
  "$python" - "$dir/metrics.jsonl" "$stopped" <<'PY' || exit 1
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1])]
assert steps == list(range(1, int(sys.argv[2]) + 1)), steps
PY
  echo "$name: stopped after step $stopped with exit $code, checkpoint step-$(printf %08d "$stopped") saved"
}

# same_losses WHOLE CUT STEPS: both metrics.jsonl hold steps 1..STEPS once and equal losses.
same_losses() {
  "$python" - "$1" "$2" "$3" <<'PY' || exit 1
import json, sys
rows = lambda d: [json.loads(l) for l in open(d + "/metrics.jsonl")]
whole, cut = rows(sys.argv[1]), rows(sys.argv[2])
n = int(sys.argv[3])
assert [r["step"] for r in cut] == list(range(1, n + 1)), [r["step"] for r in cut]
diff = max(abs(a["loss"] - b["loss"]) for a, b in zip(whole, cut))
print("  resumed run: steps 1..%d once, max |loss - uninterrupted loss| = %.3g" % (n, diff))
assert diff == 0, [(a["loss"], b["loss"]) for a, b in zip(whole, cut) if a["loss"] != b["loss"]]
PY
}
