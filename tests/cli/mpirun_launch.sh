#!/usr/bin/env bash
# launch/mpirun.sh:
#   1. --dry-run prints the mpirun line: threads exported with -x, placement and binding, the run-as-root
#      variables as root only (checked as root and as `nobody`), --oversubscribe only when asked, a
#      hostfile's nodes × --ranks-per-node ranks; bad arguments exit 2 naming the flag;
#   2. a 2-rank tiny training through it writes metrics.jsonl and run.json with world_size 2;
#   3. SIGTERM to the wrapper reaches every rank (as SIGUSR1, which mpirun forwards): the job saves and
#      exits 75, and the same wrapper line resumes to the uninterrupted run's losses.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source tests/cli/lib/preempt.sh
launch=launch/mpirun.sh
recipe=configs/recipes/zen-nano-lora.yaml
steps=30
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2
      train.max_steps=$steps train.seq_len=128 train.global_batch_size=8 train.micro_batch_size=2
      parallel.timeout_s=60)

contains() {  # contains WHAT LINE TEXT: LINE must contain TEXT
  [[ "$2" == *"$3"* ]] || { echo "$1: expected '$3' in: $2"; exit 1; }
}
lacks() {
  [[ "$2" != *"$3"* ]] || { echo "$1: did not expect '$3' in: $2"; exit 1; }
}

# 1. the mpirun line
line=$(bash "$launch" --np 2 --threads-per-rank 3 --dry-run -- zen train "$recipe")
echo "root:     $line"
contains root "$line" "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2"
contains root "$line" "--map-by slot:PE=3 --bind-to core -x OMP_NUM_THREADS=3"
contains root "$line" "zen train $recipe train.threads=3"
lacks root "$line" "--oversubscribe"
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null && [ "$(id -u)" = 0 ]; then
  # The script comes on stdin: the checkout may be unreadable for nobody.
  script=$PWD/$launch
  line=$(cd / && runuser -u nobody -- bash -s -- --np 4 --threads-per-rank 1 --oversubscribe --dry-run -- zen train "$recipe" train.threads=1 <"$script")
  echo "nobody:   $line"
  lacks nobody "$line" "OMPI_ALLOW_RUN_AS_ROOT"
  contains nobody "$line" "mpirun -np 4 --map-by slot --bind-to none --oversubscribe -x OMP_NUM_THREADS=1 zen train"
  [[ "$line" != *"train.threads=1 train.threads"* ]] || { echo "train.threads added twice: $line"; exit 1; }
else
  echo "(not root: the non-root line is the only one checked)"
fi
printf 'node1 slots=8\n# a comment\nnode2 slots=8\n\n' >"$work/hosts"
line=$(bash "$launch" --hostfile "$work/hosts" --ranks-per-node 4 --threads-per-rank 2 --bind socket --dry-run -- zen train "$recipe")
echo "hostfile: $line"
contains hostfile "$line" "mpirun -np 8 --hostfile $work/hosts --map-by ppr:4:node --bind-to socket -x OMP_NUM_THREADS=2"

bad() {  # bad FLAG ARGS...: exit 2 with a message naming FLAG
  local flag=$1 rc=0 message
  shift
  message=$(bash "$launch" "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 2 ] && [[ "$message" == *"$flag"* ]] || { echo "bad args $*: exit $rc, '$message'"; exit 1; }
}
bad --np --np 0 -- zen
bad --bind --np 2 --bind numa -- zen
bad --ranks-per-node --np 2 --ranks-per-node 2 -- zen
bad --hostfile --hostfile "$work/hosts" -- zen
bad --hostfile --hostfile "$work/none" --ranks-per-node 2 -- zen
bad --frobnicate --np 2 --frobnicate -- zen
bad -- --np 2
echo "bad arguments: exit 2 naming the flag"

# 2. a 2-rank run (more ranks than cores: oversubscribed, unbound)
placement=(--np 2 --threads-per-rank 1)
[ "$(nproc)" -ge 2 ] || placement+=(--oversubscribe)
start=$SECONDS
bash "$launch" "${placement[@]}" -- "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/whole" >"$work/whole.log" 2>&1 ||
  { tail -20 "$work/whole.log"; exit 1; }
"$python" - "$work/whole" "$steps" <<'PY'
import json, sys
run = json.load(open(sys.argv[1] + "/run.json"))
assert run["world_size"] == 2 and run["layout"]["dp"] == 2, run
steps = [json.loads(l)["step"] for l in open(sys.argv[1] + "/metrics.jsonl")]
assert steps == list(range(1, int(sys.argv[2]) + 1)), steps
PY
grep -q "1 intra-op threads per rank" "$work/whole.log" || { echo "train.threads did not reach zen"; exit 1; }
echo "2 ranks through launch/mpirun.sh: world_size 2, $steps steps in $((SECONDS - start)) s"

# 3. SIGTERM to the wrapper
bash "$launch" "${placement[@]}" -- "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/cut" >"$work/cut.log" 2>&1 &
job=$!
wait_for_steps "$work/cut" 4 "$job"
kill -TERM "$job"
rc=0
wait "$job" || rc=$?
expect_preempted wrapper "$work/cut" "$work/cut.log" "$rc" SIGUSR1
bash "$launch" "${placement[@]}" -- "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/cut" >>"$work/cut.log" 2>&1 ||
  { tail -20 "$work/cut.log"; exit 1; }
same_losses "$work/whole" "$work/cut" "$steps"
echo PASS
