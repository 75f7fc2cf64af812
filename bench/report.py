"""Markdown tables for docs/benchmarks.md from the results.jsonl that bench/train_vs_eager.sh and
bench/tensor_parallel.sh write, and the FLOP count behind their MFU column.

usage: python bench/report.py train_vs_eager /tmp/zen-bench/train_vs_eager/results.jsonl
       python bench/report.py tensor_parallel /tmp/zen-bench/tensor_parallel/results.jsonl

FLOPs per trained token (fp32 multiply-adds count 2):
  N      = layers * (2*C*H*hd + 2*C*KV*hd + 3*C*ffn) + vocab*C   -- every matmul weight, the output head
           included (it is a matmul even when tied to the embedding; the input lookup is free)
  attn   = 12 * layers * T * H*hd   -- QK^T and PV (2*2*T*H*hd per token forward, x3 for forward+backward);
           the causal mask's skippable half is not discounted
  model  = 6*N + attn               -- "MFU" (the PaLM convention: forward 2N, backward 4N)
  lora   = 4*N + 6*N_lora + attn    -- what a LoRA step must execute: the frozen weights need no weight
           gradient, so their backward is the input gradient only (2N)
MFU = model FLOPs per token * tokens/s / measured fp32 matmul peak at the same thread count.
"""
import json
import sys


def matmul_params(r):
    c, hd = r["hidden"], r["head_dim"]
    per_layer = 2 * c * r["heads"] * hd + 2 * c * r["kv_heads"] * hd + 3 * c * r["ffn"]
    return r["layers"] * per_layer + r["vocab"] * c


def lora_params(r, rank=8):  # targets q, v, o, gate, up, down: rank * (in + out) each
    c, hd, f = r["hidden"], r["head_dim"], r["ffn"]
    q, v = r["heads"] * hd, r["kv_heads"] * hd
    return r["layers"] * rank * ((c + q) + (c + v) + (q + c) + 2 * (c + f) + (f + c))


def flops_per_token(r):
    """(model FLOPs as in MFU, FLOPs the step must execute) per token."""
    n = matmul_params(r)
    attn = 12 * r["layers"] * r["seq"] * r["heads"] * r["head_dim"]
    model = 6 * n + attn
    return model, (4 * n + 6 * lora_params(r) + attn) if r.get("lora") else model


def predicted_comm(r):
    """Bytes rank 0 should send into collectives per step ({part: bytes}), by the layout's collectives:
    each collective counts its send buffer once (parallel/communicator.h CountBytes)."""
    tp, dp = (2, 1) if r["layout"] == "tp2" else (1, 2) if r["layout"] == "dp2" else (1, 1)
    if tp * dp == 1:
        return {}
    accumulation = r["global"] // (r["micro"] * dp)
    rows = r["micro"] * r["seq"]            # tokens per micro-batch
    act = rows * r["hidden"] * 4            # one (B, T, C) fp32 activation
    parts = {}
    if tp > 1:
        parts["fwd all-reduce: embedding + o_proj, down_proj per layer"] = accumulation * (1 + 2 * r["layers"]) * act
        parts["bwd all-reduce: q,k,v,gate,up inputs per layer + unembed input"] = accumulation * (5 * r["layers"] + 1) * act
        parts["cross-entropy: gathered log-sum-exp + picked logit"] = accumulation * 2 * rows * 4
        parts["q_norm/k_norm partial grads + grad-norm scalar"] = r["layers"] * 2 * r["head_dim"] * 4 + 8
    if dp > 1:
        c, hd = r["hidden"], r["head_dim"]
        per_layer = 2 * c * r["heads"] * hd + 2 * c * r["kv_heads"] * hd + 3 * c * r["ffn"] + 2 * c + 2 * hd
        params = r["layers"] * per_layer + r["vocab"] * c + c
        parts["gradient all-reduce (every param, fp32)"] = 4 * params
        parts["loss and token-count scalars"] = 16
    return parts


def load(path):
    """(machine, {threads: peak row}, runs): of repeated runs, the least disturbed (lowest median step)."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    machine = next(r["machine"] for r in rows if "machine" in r)
    peaks = {r["threads"]: r["peak"] for r in rows if "peak" in r}
    best, rounds = {}, {}
    for r in (r for r in rows if "run" in r):
        key = (r.get("shape"), r.get("layout"), r["threads"], r.get("impl"))
        rounds[key] = rounds.get(key, 0) + 1
        if key not in best or r["run"]["median_step_s"] < best[key]["run"]["median_step_s"]:
            best[key] = r
    for key, r in best.items():
        r["rounds"] = rounds[key]
    return machine, peaks, list(best.values())


def machine_line(m):
    return f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB; torch {m['torch']} (MKL {m['mkl']})\n"


def load_text(run):
    return f"{run['load_before']} / {run['load_after']} / {run['others']:.1f}"


def shape_text(r):
    text = (f"{r['layers']}L h{r['hidden']} {r['heads']}/{r['kv_heads']}x{r['head_dim']} ffn{r['ffn']} "
            f"V{r['vocab']}, T{r['seq']} micro{r['micro']} global{r['global']}")
    return text + (", LoRA r8" if r.get("lora") else ", full FT")


def train_vs_eager(path):
    machine, peaks, runs = load(path)
    print(machine_line(machine))
    print("| threads | fp32 matmul peak (4096^3, best of 5) | load before / after / others |\n| --- | --- | --- |")
    for t, p in sorted(peaks.items()):
        print(f"| {t} | {p['gflops']:.1f} GFLOP/s | {load_text(p)} |")
    print()
    print("| shape | threads | zen tok/s | eager tok/s | zen/eager | zen step s median (best) | "
          "eager step s median (best) | MFU zen / eager | LoRA-exec util zen / eager | peak RSS zen / eager | "
          "load zen (before / after / others) | load eager |")
    print("| --- " * 12 + "|")
    by_key = {(r["shape"], r["threads"], r["impl"]): r for r in runs}
    for (shape, threads, impl), z in by_key.items():
        e = by_key.get((shape, threads, "eager"))
        if impl != "zen" or e is None:
            continue
        zr, er = z["run"], e["run"]
        model, executed = flops_per_token(z)
        peak = peaks[threads]["gflops"] * 1e9
        pct = lambda flops, run: f"{100 * flops * run['tokens_per_s'] / peak:.0f}%"
        util = f"{pct(executed, zr)} / {pct(executed, er)}" if z.get("lora") else "-"
        print(f"| {shape}: {shape_text(z)} | {threads} | {zr['tokens_per_s']:.0f} | {er['tokens_per_s']:.0f} | "
              f"{zr['tokens_per_s'] / er['tokens_per_s']:.2f} | {zr['median_step_s']:.2f} ({zr['best_step_s']:.2f}) | "
              f"{er['median_step_s']:.2f} ({er['best_step_s']:.2f}) | {pct(model, zr)} / {pct(model, er)} | {util} | "
              f"{zr['peak_rss_mib']:.0f} / {er['peak_rss_mib']:.0f} MiB | {load_text(zr)} | {load_text(er)} |")
    print("\nFLOPs per token, and every step time of the runs kept:")
    for r in runs:
        model, executed = flops_per_token(r)
        print(f"  {r['shape']} t{r['threads']} {r['impl']} (best of {r['rounds']}): 6N+attn {model / 1e6:.1f} MFLOP, "
              f"LoRA-exec {executed / 1e6:.1f} MFLOP; steps {r['run']['step_times_s']}")


def tensor_parallel(path):
    machine, peaks, runs = load(path)
    print(machine_line(machine))
    print("| layout | ranks x threads | step s median (best) | tok/s | speed-up vs tp1 | comm bytes/step (rank 0) | "
          "predicted (see below) | peak RSS (biggest rank) | load before / after / others |")
    print("| --- " * 9 + "|")
    base = next(r["run"]["median_step_s"] for r in runs if r["layout"] == "tp1")
    for r in runs:
        z = r["run"]
        comm = z["comm_bytes"][1:] or z["comm_bytes"]
        print(f"| {r['layout']} | {r['ranks']} x {r['threads']} | {z['median_step_s']:.2f} ({z['best_step_s']:.2f}) | "
              f"{z['tokens_per_s']:.0f} | {base / z['median_step_s']:.2f}x | {max(comm):,} | "
              f"{sum(predicted_comm(r).values()):,} | {z['peak_rss_mib']:.0f} MiB | {load_text(z)} |")
    print("\nstep times and comm bytes per run, and the predicted comm split:")
    for r in runs:
        print(f"  {r['layout']}: steps {r['run']['step_times_s']}  comm {r['run']['comm_bytes']}")
        for part, n in predicted_comm(r).items():
            print(f"    {part}: {n:,}")


if __name__ == "__main__":
    {"train_vs_eager": train_vs_eager, "tensor_parallel": tensor_parallel}[sys.argv[1]](sys.argv[2])
