#!/usr/bin/env bash
# Launches `zen` (or any command) under OpenMPI's mpirun with the placement a training job wants:
#
#   launch/mpirun.sh [--np N | --hostfile FILE --ranks-per-node R] [--threads-per-rank T]
#                    [--bind core|socket|none] [--oversubscribe] [--dry-run] -- zen train RECIPE [OVERRIDE...]
#
#   --np N                 N ranks on this machine
#   --hostfile FILE        one line per node ("node1 slots=8"); with --ranks-per-node R: R ranks on each
#   --threads-per-rank T   intra-op threads per rank (OMP_NUM_THREADS, and train.threads for zen train/eval);
#                          default: this machine's cores / ranks per node
#   --bind core|socket|none  pin each rank to T cores (default), to a socket, or not at all
#   --oversubscribe        allow more ranks than cores (binding then defaults to none)
#   --dry-run              print the mpirun line instead of running it
#
# As root, OpenMPI refuses to start unless OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 are
# set; they are added then, and only then.
# Preemption: SIGTERM or SIGUSR1 sent to this script reaches every rank as SIGUSR1 (mpirun forwards
# SIGUSR1; a SIGTERM to mpirun itself would abort the job at once), so `zen train` saves a checkpoint at
# the next step and exits 75; the script exits with mpirun's status.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
}

bad() {  # bad FLAG MESSAGE: exit 2 naming the flag
  echo "launch/mpirun.sh: $1: $2" >&2
  exit 2
}

positive() {  # positive FLAG VALUE
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || bad "$1" "expected a positive integer, got \"$2\""
}

np="" hostfile="" ranks_per_node="" threads="" bind="" oversubscribe=0 dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --np|--hostfile|--ranks-per-node|--threads-per-rank|--bind)
      [ $# -ge 2 ] || bad "$1" "expects a value"
      case "$1" in
        --np) positive "$1" "$2"; np=$2 ;;
        --hostfile) [ -r "$2" ] || bad "$1" "cannot read \"$2\""; hostfile=$2 ;;
        --ranks-per-node) positive "$1" "$2"; ranks_per_node=$2 ;;
        --threads-per-rank) positive "$1" "$2"; threads=$2 ;;
        --bind) [[ "$2" =~ ^(core|socket|none)$ ]] || bad "$1" "expected core, socket or none, got \"$2\""; bind=$2 ;;
      esac
      shift 2 ;;
    --oversubscribe) oversubscribe=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) bad "$1" "unknown flag (the command to launch follows --)" ;;
  esac
done
[ $# -gt 0 ] || bad "--" "expected the command to launch after --, for example -- build/zen train RECIPE"
command=("$@")

# Where the ranks go: N here, or R on every node of the hostfile.
if [ -n "$hostfile" ]; then
  [ -z "$np" ] || bad "--np" "give either --np or --hostfile with --ranks-per-node, not both"
  [ -n "$ranks_per_node" ] || bad "--hostfile" "needs --ranks-per-node R"
  nodes=$(grep -cv '^[[:space:]]*\(#\|$\)' "$hostfile" || true)
  [ "$nodes" -gt 0 ] || bad "--hostfile" "\"$hostfile\" names no node"
  np=$((nodes * ranks_per_node))
  per_node=$ranks_per_node
else
  [ -z "$ranks_per_node" ] || bad "--ranks-per-node" "needs --hostfile FILE (one machine: use --np)"
  [ -n "$np" ] || bad "--np" "give --np N, or --hostfile FILE --ranks-per-node R"
  per_node=$np
fi
cores=$(nproc)
[ -n "$threads" ] || threads=$(( cores / per_node > 0 ? cores / per_node : 1 ))
[ -n "$bind" ] || bind=$([ "$oversubscribe" = 1 ] && echo none || echo core)

# Placement: ppr (processes per resource) R per node; PE=T gives each rank T cores to bind its threads to.
map=$([ -n "$hostfile" ] && echo "ppr:$per_node:node" || echo "slot")
[ "$bind" = core ] && map="$map:PE=$threads"
line=()
if [ "$(id -u)" -eq 0 ]; then
  line+=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
fi
line+=(mpirun -np "$np")
[ -n "$hostfile" ] && line+=(--hostfile "$hostfile")
line+=(--map-by "$map" --bind-to "$bind")
[ "$oversubscribe" = 1 ] && line+=(--oversubscribe)
line+=(-x "OMP_NUM_THREADS=$threads")
[ "$(id -u)" -eq 0 ] && line+=(-x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
line+=("${command[@]}")
# zen takes its intra-op threads from train.threads, then OMP_NUM_THREADS; the override also reaches a
# recipe that sets train.threads.
if [ ${#command[@]} -ge 2 ] && [[ "${command[1]}" =~ ^(train|eval)$ ]] && [[ ! " ${command[*]} " =~ \ train\.threads= ]]; then
  line+=("train.threads=$threads")
fi

if [ "$dry_run" = 1 ]; then
  printf '%q ' "${line[@]}" | sed 's/ $/\n/'
  exit 0
fi

# mpirun runs as a child so that a SIGTERM to this script can become SIGUSR1 to the ranks.
"${line[@]}" &
pid=$!
signalled=0
forward() { signalled=1; kill -USR1 "$pid" 2>/dev/null || true; }
trap forward TERM USR1
while true; do
  signalled=0
  status=0
  wait "$pid" || status=$?
  # A trapped signal ends `wait` early (status 128+n) while mpirun runs on: wait again.
  [ "$signalled" = 1 ] || break
done
exit "$status"
