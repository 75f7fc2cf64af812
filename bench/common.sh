# Shared helpers for bench/*.sh (sourced, not run): paths, waiting for a quiet machine, timed runs.
#   ZEN (build/zen), PY (.venv/bin/python); before each measurement wait up to WAIT_S (600) seconds for the
#   1-minute load average to drop below MAX_LOAD (2.5), then run anyway. Every result records the load
#   average before and after, and "others": the mean number of runnable tasks that were not ours while it
#   ran (from /proc/loadavg's running count, sampled every 0.5 s), the contention it was measured under.
ZEN=${ZEN:-build/zen}
PY=${PY:-.venv/bin/python}
MAX_LOAD=${MAX_LOAD:-2.5}
WAIT_S=${WAIT_S:-600}
RECIPE=configs/recipes/zen-nano-lora.yaml
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

load1() { cut -d' ' -f1 /proc/loadavg; }

wait_for_quiet() {
  local waited=0
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }' && ((waited < WAIT_S)); do
    sleep 15
    waited=$((waited + 15))
  done
}

# emit JSON: checks it, prints it on one line and appends it to $results.
emit() { "$PY" -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])))' "$1" | tee -a "$results"; }

# machine_json: the machine and software, one JSON object.
machine_json() {
  "$PY" - <<'EOF'
import json, os, subprocess, torch
cpu = [l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
       if l.startswith("Model name")][0]
mem = int(open("/proc/meminfo").readline().split()[1]) / 2**20
print(json.dumps({"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem, 1), "torch": torch.__version__,
                  "mkl": torch.backends.mkl.is_available()}))
EOF
}

# timed DIR BUSY CMD...: waits for a quiet machine, runs CMD (stdout to DIR/stdout, stderr to DIR/log.txt)
# under /usr/bin/time -v, and prints JSON: peak_rss_mib (the biggest process's max RSS), load_before,
# load_after, others (mean runnable tasks minus BUSY, the threads the command itself keeps running, minus
# the sampler).
timed() {
  local dir=$1 busy=$2
  shift 2
  rm -rf "$dir" && mkdir -p "$dir"
  wait_for_quiet
  local before sampler
  before=$(load1)
  (while :; do cut -d' ' -f4 /proc/loadavg | cut -d/ -f1; sleep 0.5; done) >"$dir/running.txt" &
  sampler=$!
  /usr/bin/time -v -o "$dir/time.txt" "$@" >"$dir/stdout" 2>"$dir/log.txt" || { kill "$sampler"; tail "$dir/log.txt" >&2; return 1; }
  kill "$sampler"
  local rss
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
  awk -v busy="$busy" -v rss="$rss" -v before="$before" -v after="$(load1)" '{ s += $1; n++ }
    END { printf "{\"peak_rss_mib\": %.0f, \"load_before\": %s, \"load_after\": %s, \"others\": %.2f}\n",
          rss / 1024, before, after, (n ? s / n : 1) - 1 - busy }' "$dir/running.txt"
}

# merge JSON JSON: the union of two objects.
merge() { "$PY" -c 'import json, sys; print(json.dumps({**json.loads(sys.argv[1]), **json.loads(sys.argv[2])}))' "$1" "$2"; }

# zen_run DIR THREADS [mpirun -np N] -- OVERRIDES...: one zen train run; prints timed's JSON plus the
# median tokens/s and step time over the steps after the first, the best step, and rank 0's comm bytes.
zen_run() {
  local dir=$1 threads=$2 ranks=1
  shift 2
  local launcher=()
  if [[ $1 == mpirun ]]; then ranks=$3 launcher=(mpirun --oversubscribe --bind-to none -np "$3"); shift 3; fi
  [[ $1 == -- ]] && shift
  local t
  t=$(timed "$dir" $((ranks * threads)) "${launcher[@]}" "$ZEN" train "$RECIPE" train.threads="$threads" \
    optim.warmup_steps=0 "$@" output_dir="$dir/out")
  merge "$t" "$("$PY" - "$dir/out/metrics.jsonl" <<'EOF'
import json, statistics, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
later = steps[1:] or steps
print(json.dumps({"tokens_per_s": statistics.median(s["tokens_per_s"] for s in later),
                  "median_step_s": statistics.median(s["step_time_s"] for s in later),
                  "best_step_s": min(s["step_time_s"] for s in later),
                  "step_times_s": [round(s["step_time_s"], 3) for s in steps],
                  "comm_bytes": [s["comm_bytes"] for s in steps]}))
EOF
  )"
}
