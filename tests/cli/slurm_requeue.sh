#!/usr/bin/env bash
# Preemption and requeue on a real one-node SLURM cluster (tests/cli/lib/slurm_cluster.sh): a 2-task job
# from `zen submit --requeue` is interrupted twice, the two ways SLURM warns a job:
#   1. `scancel --signal=TERM JOB`: SIGTERM straight to the ranks (what preemption and the time limit send);
#   2. `scancel --batch --signal=USR1 JOB`: SIGUSR1 to the job script, as `#SBATCH --signal=B:USR1@grace`
#      sends it before the time limit; the script passes it on to the ranks through srun.
# Each time the ranks save a checkpoint at the same step and exit 75, the script puts the job back in the
# queue (scontrol requeue), and the same script resumes from that checkpoint. The job ends COMPLETED after
# three runs, metrics.jsonl holds every step once, and the losses equal an uninterrupted run's exactly.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
source tests/cli/lib/slurm_cluster.sh
source tests/cli/lib/preempt.sh
trap 'slurm_cluster_stop; rm -rf "$work"' EXIT
start=$SECONDS
slurm_cluster_start || { rc=$?; [ "$rc" = 3 ] && { echo "SKIP: this environment cannot run SLURM"; exit 0; }; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
recipe=configs/recipes/zen-nano-lora.yaml
steps=40
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2
      train.max_steps=$steps train.seq_len=128 train.global_batch_size=8 train.micro_batch_size=2
      train.threads=1 parallel.timeout_s=60 lora.dropout=0.1)

# The uninterrupted run, under plain mpirun: the same layout (dp=2) gives the same numbers.
mpirun --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
  "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/whole" >"$work/whole.log" 2>&1 || { tail "$work/whole.log"; exit 1; }

out=$work/job
id=$("$zen" submit "$recipe" "${tiny[@]}" output_dir="$out" --nodes 1 --tasks-per-node 2 --requeue --time 10 \
       --signal-grace 60 --zen "$zen")
log=$out/slurm/train-$id.out
job_alive() { case "$(slurm_job_state "$id")" in PENDING|RUNNING|REQUEUED|COMPLETING|CONFIGURING) return 0 ;; esac; return 1; }
wait_steps() {  # wait_steps N: metrics.jsonl holds N steps (the job may be between runs meanwhile)
  local deadline=$((SECONDS + 60))
  until [ -f "$out/metrics.jsonl" ] && [ "$(wc -l <"$out/metrics.jsonl")" -ge "$1" ]; do
    job_alive || { echo "job $id ended ($(slurm_job_state "$id")) before step $1"; cat "$log"; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no step $1 after 60 s"; cat "$log"; exit 1; }
    sleep 0.05
  done
}
wait_requeued() {  # wait_requeued RUNS SIGNAL: the job was preempted by SIGNAL and runs again (run RUNS)
  local deadline=$((SECONDS + 60))
  until grep -q "zen submit: job $id run $1 " "$log" 2>/dev/null; do
    job_alive || { echo "job $id ended ($(slurm_job_state "$id")) instead of being requeued"; cat "$log"; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "job $id did not start run $1 within 60 s"; cat "$log"; exit 1; }
    sleep 0.2
  done
  local stopped
  stopped=$(grep -c "zen train: preempted at step [0-9]* ($2): checkpoint saved" "$log" || true)
  [ "$stopped" -ge 1 ] || { echo "no preemption by $2 in the log"; cat "$log"; exit 1; }
  echo "  $2: $(grep -o "preempted at step [0-9]* ($2)" "$log" | tail -1); requeued, run $1 started at $((SECONDS - start)) s"
}

wait_steps 4
scancel --signal=TERM "$id"
wait_requeued 2 SIGTERM
wait_steps "$(( $(wc -l <"$out/metrics.jsonl") + 3 ))"
scancel --batch --signal=USR1 "$id"
wait_requeued 3 SIGUSR1
state=$(slurm_wait_job "$id" 60 COMPLETED FAILED CANCELLED TIMEOUT)
[ "$state" = COMPLETED ] || { echo "job $id ended $state"; cat "$log"; exit 1; }
[ "$(grep -c 'zen train: resumed from' "$log")" = 2 ] || { echo "expected two resumes"; cat "$log"; exit 1; }
scontrol show job "$id" | grep -o "Restarts=[0-9]*"
same_losses "$work/whole" "$out" "$steps"
echo "PASS in $((SECONDS - start)) s"
