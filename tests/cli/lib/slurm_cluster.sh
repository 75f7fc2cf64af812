# A real one-node SLURM cluster on localhost for the tests (sourced; tests/cli/lib/ holds no tests of its
# own): munged, slurmctld and slurmd of the Debian packages (scripts/setup.sh installs them), with every
# key, socket, state folder, log and port private to one temp folder, so it disturbs no other SLURM.
#
#   slurm_cluster_start    starts it, exports SLURM_CONF for sbatch/squeue/scontrol, waits for the node
#   slurm_cluster_stop     cancels its jobs and stops the daemons it started (call it from an EXIT trap)
#   slurm_job_state ID     PENDING, RUNNING, COMPLETED, FAILED, ... (scontrol; no accounting database)
#   slurm_wait_job ID S [STATE...]   waits up to S seconds until the job is in one of STATEs
#
# The node is this machine as `slurmd -C` sees it (CPUs, sockets, cores, RealMemory), cons_tres selection,
# processes tracked by /proc (proctrack/linuxproc, task/none: no cgroups needed in a VM or container),
# JobRequeue=1. Slurm's daemons need root. slurm_cluster_start fails loudly when something else is
# missing; it returns 3 (with the reason) only where this environment cannot run them at all.

slurm_pids=()
slurm_dir=""

_slurm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_slurm_logs() {  # the tail of every daemon log, for failures
  local log
  for log in "$slurm_dir"/log/*; do echo "--- $log"; tail -15 "$log"; done
}

_slurm_fail() {
  echo "slurm_cluster: $1"
  [ -z "$slurm_dir" ] || _slurm_logs
  return 1
}

# Munge with a fresh key; its socket folder must be reachable by everyone (munged checks).
_slurm_start_munge() {
  mkdir -p "$slurm_dir/munge" "$slurm_dir/run" "$slurm_dir/log"
  chmod 700 "$slurm_dir/munge"
  chmod 755 "$slurm_dir" "$slurm_dir/run"
  head -c 1024 /dev/urandom >"$slurm_dir/munge/munge.key"
  chmod 600 "$slurm_dir/munge/munge.key"
  munged --foreground --key-file="$slurm_dir/munge/munge.key" --socket="$slurm_dir/run/munge.sock" \
    --pid-file="$slurm_dir/run/munged.pid" --seed-file="$slurm_dir/munge/seed" \
    --log-file="$slurm_dir/log/munged.log" >>"$slurm_dir/log/munged.log" 2>&1 &
  slurm_pids+=($!)
  local tries
  for tries in $(seq 50); do
    [ -S "$slurm_dir/run/munge.sock" ] && return 0
    sleep 0.1
  done
  _slurm_fail "munged did not create its socket"
}

_slurm_write_conf() {
  local node ctld_port slurmd_port first_job
  # slurmd -C: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]* //')
  ctld_port=$(_slurm_free_port)
  slurmd_port=$(_slurm_free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(_slurm_free_port); done
  # Job ids (and TmpFS, where the PMIx plugin keeps per-step folders named by them) apart from another
  # cluster of this kind on the machine, such as a second SLURM test that ctest runs at the same time.
  first_job=$(( (ctld_port % 1000) * 1000 + 1 ))
  mkdir -p "$slurm_dir/state" "$slurm_dir/spool" "$slurm_dir/tmp"
  cat >"$slurm_dir/slurm.conf" <<EOF
ClusterName=zentest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$slurm_dir/run/munge.sock,cred_expire=5
StateSaveLocation=$slurm_dir/state
SlurmdSpoolDir=$slurm_dir/spool
TmpFS=$slurm_dir/tmp
FirstJobId=$first_job
SlurmctldPidFile=$slurm_dir/run/slurmctld.pid
SlurmdPidFile=$slurm_dir/run/slurmd.pid
SlurmctldLogFile=$slurm_dir/log/slurmctld.log
SlurmdLogFile=$slurm_dir/log/slurmd.log
PlugStackConfig=$slurm_dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
JobRequeue=1
ReturnToService=2
MinJobAge=600
KillWait=30
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$slurm_dir/plugstack.conf"
  export SLURM_CONF=$slurm_dir/slurm.conf
}

# Waits until the node takes jobs (idle), at most 30 s.
_slurm_wait_idle() {
  local deadline=$((SECONDS + 30)) state=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    [ "$state" = idle ] && return 0
    sleep 0.5
  done
  _slurm_fail "the node is '$state', not idle, after 30 s"
}

slurm_cluster_start() {
  local tool
  if [ "$(id -u)" != 0 ]; then
    echo "slurm_cluster: SLURM's daemons need root (slurmd starts jobs as their users); this test runs as $(id -un)"
    return 3
  fi
  for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo python3; do
    command -v "$tool" >/dev/null || _slurm_fail "$tool is missing: scripts/setup.sh installs slurmctld slurmd slurm-client munge" || return 1
  done
  slurm_dir=$(mktemp -d /tmp/zen-slurm.XXXXXX)
  _slurm_start_munge || return 1
  _slurm_write_conf
  slurmctld -D -i -f "$SLURM_CONF" >>"$slurm_dir/log/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  slurmd -D -N localhost -f "$SLURM_CONF" >>"$slurm_dir/log/slurmd.out" 2>&1 &
  slurm_pids+=($!)
  _slurm_wait_idle || return 1
  echo "slurm_cluster: up in $slurm_dir ($(sinfo -h -o '%N: %c CPUs, %m MB, %T'); mpi plugins: $(srun --mpi=list 2>&1 | grep -o 'pmix[^ ]*' | sort -u | tr '\n' ' '))"
}

slurm_cluster_stop() {
  [ -n "$slurm_dir" ] || return 0
  local pid i
  if [ ${#slurm_pids[@]} -gt 0 ] && kill -0 "${slurm_pids[-1]}" 2>/dev/null; then
    # Jobs first: their processes hang off slurmstepd, not off the daemons killed below.
    scancel --full --user="$(id -un)" 2>/dev/null || true
    for i in $(seq 40); do
      [ -z "$(squeue -h 2>/dev/null)" ] && break
      sleep 0.25
    done
  fi
  for ((i = ${#slurm_pids[@]} - 1; i >= 0; i--)); do
    kill "${slurm_pids[i]}" 2>/dev/null || true
  done
  for pid in "${slurm_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  slurm_pids=()
  rm -rf "$slurm_dir"
  slurm_dir=""
}

slurm_job_state() {
  scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

slurm_wait_job() {  # slurm_wait_job ID SECONDS STATE...: the state reached, or fails after SECONDS
  local id=$1 deadline=$((SECONDS + $2)) state
  shift 2
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(slurm_job_state "$id")
    for wanted in "$@"; do
      [ "$state" = "$wanted" ] && { echo "$state"; return 0; }
    done
    sleep 0.5
  done
  echo "job $id is '$state', not $*, after the wait" >&2
  scontrol show job "$id" >&2 || true
  return 1
}
