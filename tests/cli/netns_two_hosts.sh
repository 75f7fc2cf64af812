#!/usr/bin/env bash
# Multi-node without a cluster: two network namespaces joined by a veth pair stand in for two hosts
# (10.77.0.1 and 10.77.0.2, each seeing only its own address and the link). mpirun, started in the first,
# reaches the second through an rsh agent that runs the command in that namespace (as ssh would on a
# real node), and one rank per host trains dp=2 over TCP across the link. Proves: the losses equal one
# process's within 1e-5 relative (the framework's central property, now across hosts), run.json says
# world_size 2, the second rank was started on the second host, and the gradients crossed the link.
# Where namespaces cannot be made (not root, no CAP_SYS_ADMIN, no `ip`) it prints SKIPPED and exits 0.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
# Per-process names: ctest may run other tests that make namespaces at the same time.
ns_a=zen-a-$$ ns_b=zen-b-$$ veth_a=zva$$ veth_b=zvb$$
ip_a=10.77.0.1 ip_b=10.77.0.2 subnet=10.77.0.0/24

cleanup() {
  for ns in "$ns_a" "$ns_b"; do
    # Anything still running in a namespace was started by this test (orted, a hung rank).
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "$ns" 2> /dev/null || true   # takes its end of the veth pair with it
  done
  rm -rf "$work"
}
trap cleanup EXIT

skip() { echo "SKIPPED: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root (uid $(id -u))"
command -v ip > /dev/null || skip "no ip command (apt-get install iproute2)"
ip netns add "$ns_a" 2> "$work/netns.err" || skip "ip netns add failed: $(cat "$work/netns.err")"
ip netns add "$ns_b"
ip link add "$veth_a" type veth peer name "$veth_b"
ip link set "$veth_a" netns "$ns_a"
ip link set "$veth_b" netns "$ns_b"
ip -n "$ns_a" addr add "$ip_a/24" dev "$veth_a"
ip -n "$ns_b" addr add "$ip_b/24" dev "$veth_b"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "$veth_a" up
ip -n "$ns_b" link set "$veth_b" up

# The ssh stand-in: `agent [options] HOST COMMAND...` runs COMMAND through a shell in HOST's namespace.
cat > "$work/agent.sh" <<EOF
#!/usr/bin/env bash
while [ "\${1:0:1}" = "-" ]; do shift; done
host=\$1; shift
case \$host in
  $ip_a) ns=$ns_a ;;
  $ip_b) ns=$ns_b ;;
  *) echo "agent: unknown host \$host" >&2; exit 255 ;;
esac
echo "\$host" >> "$work/agent.log"
exec ip netns exec "\$ns" /bin/sh -c "\$*"
EOF
chmod +x "$work/agent.sh"
printf '%s slots=1\n%s slots=1\n' "$ip_a" "$ip_b" > "$work/hostfile"

source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=5
      train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1 parallel.timeout_s=60)
"$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" output_dir="$work/one" > "$work/one.log" 2>&1 \
  || { cat "$work/one.log"; exit 1; }

rx_before=$(ip netns exec "$ns_b" cat "/sys/class/net/$veth_b/statistics/rx_bytes")
# TCP only, and only over the link: the hosts share no memory and have no other route to each other.
mpi=(mpirun -np 2 --hostfile "$work/hostfile" --map-by node --bind-to none
     --mca plm_rsh_agent "$work/agent.sh" --mca btl tcp,self
     --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet"
     -x OMP_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
timeout 180 ip netns exec "$ns_a" "${mpi[@]}" "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" \
  output_dir="$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; echo "FAIL: dp=2 across two hosts"; exit 1; }
rx_after=$(ip netns exec "$ns_b" cat "/sys/class/net/$veth_b/statistics/rx_bytes")

grep -qx "$ip_b" "$work/agent.log" || { echo "FAIL: nothing was started on $ip_b"; exit 1; }
echo "host $ip_b received $((rx_after - rx_before)) bytes over the link during the run"
[ $((rx_after - rx_before)) -gt 100000 ] || { echo "FAIL: too little traffic crossed the link"; exit 1; }

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def losses(run):
    return [json.loads(l)["loss"] for l in open(os.path.join(work, run, "metrics.jsonl"))]
one, two = losses("one"), losses("two")
assert len(one) == len(two) == 5, (one, two)
worst = max(abs(a - b) / abs(a) for a, b in zip(one, two))
print("one process", [round(x, 6) for x in one])
print("two hosts  ", [round(x, 6) for x in two], "worst relative difference %.2e" % worst)
assert worst <= 1e-5, "dp=2 across two hosts differs from one process"
run = json.load(open(os.path.join(work, "two", "run.json")))
assert run["world_size"] == 2 and run["layout"]["dp"] == 2, run
PY
echo "PASS"
