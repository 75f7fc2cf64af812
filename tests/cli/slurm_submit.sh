#!/usr/bin/env bash
# `zen submit` on a real one-node SLURM cluster (tests/cli/lib/slurm_cluster.sh): a 2-task tiny training
# job started by `srun --mpi=pmix`, and the same by mpirun inside the allocation (--mpi mpirun), each run
# to COMPLETED with run.json's world_size 2, every step in metrics.jsonl, the job's log in
# output_dir/slurm/, and the job id printed on stdout; an sbatch that refuses the job fails the command.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
source tests/cli/lib/slurm_cluster.sh
trap 'slurm_cluster_stop; rm -rf "$work"' EXIT
start=$SECONDS
slurm_cluster_start || { rc=$?; [ "$rc" = 3 ] && { echo "SKIP: this environment cannot run SLURM"; exit 0; }; exit 1; }
steps=10
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 train.max_steps=$steps train.seq_len=64
      train.global_batch_size=8 train.micro_batch_size=2 parallel.timeout_s=60)

for mpi in pmix mpirun; do
  out=$work/$mpi
  t=$SECONDS
  id=$("$zen" submit configs/recipes/zen-nano-lora.yaml "${tiny[@]}" output_dir="$out" --nodes 1 --tasks-per-node 2 \
         --cpus-per-task 1 --time 5 --mpi "$mpi" --job-name "zen-test-$mpi" --zen "$zen")
  [[ "$id" =~ ^[0-9]+$ ]] || { echo "$mpi: zen submit printed '$id', not a job id"; exit 1; }
  state=$(slurm_wait_job "$id" 60 COMPLETED FAILED CANCELLED TIMEOUT)
  log=$out/slurm/train-$id.out
  [ "$state" = COMPLETED ] || { echo "$mpi: job $id ended $state"; cat "$log"; exit 1; }
  grep -q "zen train: done, $steps steps" "$log" || { echo "$mpi: no 'done' in the job's log"; cat "$log"; exit 1; }
  "$python" - "$out" "$steps" <<'PY'
import json, sys
run = json.load(open(sys.argv[1] + "/run.json"))
assert run["world_size"] == 2 and run["layout"]["dp"] == 2, run
steps = [json.loads(l)["step"] for l in open(sys.argv[1] + "/metrics.jsonl")]
assert steps == list(range(1, int(sys.argv[2]) + 1)), steps
PY
  grep -q "^#SBATCH --job-name=zen-test-$mpi" "$out/slurm/train.sbatch" || { echo "$mpi: the script was not kept"; exit 1; }
  echo "$mpi: job $id COMPLETED in $((SECONDS - t)) s, world_size 2, $steps steps"
done

# sbatch's refusal (a partition that does not exist) is a runtime failure of zen submit, not a silent one.
rc=0
"$zen" submit configs/recipes/zen-nano-lora.yaml "${tiny[@]}" output_dir="$work/refused" --nodes 1 --tasks-per-node 2 \
  --partition nosuchpartition >"$work/refused.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "sbatch .* failed" "$work/refused.log" || { echo "refused job: exit $rc"; cat "$work/refused.log"; exit 1; }
echo "sbatch refusing the job: exit 1, '$(grep -o 'sbatch .* failed.*' "$work/refused.log")'"
echo "PASS in $((SECONDS - start)) s"
