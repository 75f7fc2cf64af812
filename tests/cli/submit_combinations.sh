#!/usr/bin/env bash
# `zen submit --dry-run` renders a valid job script for every combination of the flags that change the
# template's lines: with and without overrides, --cpus-per-task, --gpus-per-task, --requeue, and srun
# (pmix) or mpirun. Each script passes `bash -n` and holds the training line, followed by `pid=$!`
# (an empty override list once dropped that line: on a cluster, `$!: unbound variable`).
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
zen=$(realpath -s "$zen")  # as --zen writes it into the script
n=0
for overrides in none some; do
  for cpus in none 4; do
    for gpus in none 1; do
      for requeue in no yes; do
        for mpi in pmix mpirun; do
          args=("$recipe")
          [ "$overrides" = some ] && args+=(data.source=demo "lora.targets=[q, v]")
          args+=(--nodes 2 --tasks-per-node 2 --mpi "$mpi" --zen "$zen" --dry-run)
          [ "$cpus" != none ] && args+=(--cpus-per-task "$cpus")
          [ "$gpus" != none ] && args+=(--gpus-per-task "$gpus")
          [ "$requeue" = yes ] && args+=(--requeue)
          name="overrides=$overrides cpus=$cpus gpus=$gpus requeue=$requeue mpi=$mpi"
          script=$work/$n.sbatch
          "$zen" submit "${args[@]}" >"$script" 2>"$work/err" || { echo "$name: zen submit failed"; cat "$work/err"; exit 1; }
          bash -n "$script" || { echo "$name: not valid bash"; cat "$script"; exit 1; }
          launcher='srun --mpi=pmix'
          [ "$mpi" = mpirun ] && launcher='mpirun -np 4'
          line=$(grep -n "^$launcher.* $zen train $recipe" "$script") ||
            { echo "$name: no training line"; cat "$script"; exit 1; }
          [ "$(sed -n "$((${line%%:*} + 1))p" "$script")" = 'pid=$!' ] || { echo "$name: no pid=\$! after it"; exit 1; }
          train=${line#*:}
          [[ "$train" == *" &" ]] || { echo "$name: the training line does not end with &: $train"; exit 1; }
          if [ "$overrides" = some ]; then
            [[ "$train" == *"data.source=demo 'lora.targets=[q, v]'"* ]] || { echo "$name: overrides lost: $train"; exit 1; }
          fi
          if [ "$cpus" != none ]; then
            [[ "$train" == *"train.threads=4 &" ]] && grep -q '^#SBATCH --cpus-per-task=4$' "$script" ||
              { echo "$name: --cpus-per-task not applied"; cat "$script"; exit 1; }
          else
            [[ "$train" == *"$recipe &" || "$overrides" = some ]] || { echo "$name: unexpected words: $train"; exit 1; }
            ! grep -q -- '--cpus-per-task\|OMP_NUM_THREADS' "$script" || { echo "$name: cpus line without the flag"; exit 1; }
          fi
          [ "$gpus" = none ] || grep -q '^#SBATCH --gpus-per-task=1$' "$script" || { echo "$name: no gpus line"; exit 1; }
          grep -q "^requeue_after_preemption=$requeue$" "$script" || { echo "$name: requeue not $requeue"; exit 1; }
          n=$((n + 1))
        done
      done
    done
  done
done
echo "$n job scripts rendered: each valid bash with its training line"
echo PASS
