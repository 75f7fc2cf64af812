"""Turns bench/gpu/run.sh's REPORT folder into report.md: the card, the check results and the Zen-Nano table.

usage: python3 bench/gpu/report.py REPORT > REPORT/report.md

tokens/s: median of a run's steps after the first two (warm-up, allocator growth); each implementation's best
round is shown (least disturbed), all rounds are in results.jsonl.
MFU = FLOPs per token x tokens/s / the card's dense bf16 peak (989.4 TFLOP/s for H100 SXM and H200, NVIDIA's
datasheet, without sparsity). FLOPs per token, PaLM's convention: 6 x N + 12 x layers x seq x attention width,
N = the parameters of every matrix product (the tied embedding counted once, as the LM head). For LoRA the
6N convention counts weight gradients that frozen weights never compute, so the LoRA rows also give the FLOPs
executed: 4 x N (forward, and the activation gradient in backward) + the same attention term.
"""
import json
import os
import statistics
import sys

PEAK_TFLOPS = 989.4
# Zen-Nano, configs/models/zen-nano.yaml, at the benchmark's sequence length (bench/gpu/run.sh NANO).
L, C, H, KV, HD, F, V, T = 24, 1024, 16, 16, 64, 2816, 151936, 2048


def flops_per_token(lora):
    n = L * (C * H * HD + 2 * C * KV * HD + H * HD * C + 3 * C * F) + V * C
    attention = 12 * L * T * H * HD
    return {"six_n": 6 * n + attention, "executed": (4 * n if lora else 6 * n) + attention, "n": n}


def load(report):
    rows = [json.loads(line) for line in open(os.path.join(report, "results.jsonl"))]
    return rows


def zen_run(report, path):
    path = os.path.join(report, path)
    if not os.path.exists(path):
        return None
    steps = [json.loads(line) for line in open(path)]
    if len(steps) < 3:
        return None
    timed = steps[2:]
    return {"tokens_per_s": statistics.median(s["tokens_per_s"] for s in timed),
            "peak_memory_bytes": max(s.get("peak_memory_bytes", 0) for s in steps),
            "losses": [s["loss"] for s in steps]}


def hf_run(report, path):
    path = os.path.join(report, path)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    return json.loads(open(path).read().strip().splitlines()[-1])


def best(runs):
    runs = [r for r in runs if r]
    return max(runs, key=lambda r: r["tokens_per_s"]) if runs else None


def bench_table(report, rows):
    out = ["| mode | impl | tokens/s | MFU (6N) | MFU (executed) | peak GPU memory | zen / HF |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for mode in ["full", "lora"]:
        f = flops_per_token(mode == "lora")
        zen = best(zen_run(report, r["metrics"]) for r in rows if r.get("stage") == "bench" and r["impl"] == "zen" and r["mode"] == mode)
        hf = best(hf_run(report, r["result"]) for r in rows if r.get("stage") == "bench" and r["impl"] == "hf" and r["mode"] == mode)
        ratio = "%.2f" % (zen["tokens_per_s"] / hf["tokens_per_s"]) if zen and hf else "n/a"
        for name, run in [("zen", zen), ("transformers" + ("+peft" if mode == "lora" else ""), hf)]:
            if not run:
                out.append("| %s | %s | failed | | | | |" % (mode, name))
                continue
            tps = run["tokens_per_s"]
            mfu6 = tps * f["six_n"] / (PEAK_TFLOPS * 1e12)
            mfux = tps * f["executed"] / (PEAK_TFLOPS * 1e12)
            mem = (run.get("peak_memory_bytes") or 0) / 2**30
            out.append("| %s | %s | %.0f | %.1f%% | %.1f%% | %.1f GiB | %s |" % (
                "LoRA r8" if mode == "lora" else "full fine-tune", name, tps, 100 * mfu6, 100 * mfux, mem,
                ratio if name == "zen" else ""))
    return out


def main():
    report = sys.argv[1]
    rows = load(report)
    lines = ["# GPU check (bench/gpu/run.sh)", ""]
    for r in rows:
        if r.get("stage") == "env":
            e = r["env"]
            lines += ["Card: %s (%s SMs, %s GiB, sm_%s), torch %s, CUDA %s, NCCL %s, cuDNN %s, %s CPUs." % (
                e["gpu"], e["sm_count"], e["memory_gib"], e["capability"].replace(".", ""), e["torch"], e["cuda"],
                e["nccl"], e["cudnn"], e["cpus"]),
                "bf16 matmul 8192^3 through torch: %.0f TFLOP/s (datasheet dense peak used for MFU: %.1f)." % (
                r["matmul"]["bf16_matmul_tflops"], PEAK_TFLOPS), ""]
        elif r.get("stage") == "unit":
            lines.append("Unit tests: %d passed, %d skipped, %d failed shards." % (r["passed"], r["skipped"], r["failed_shards"]))
        elif r.get("stage") == "mpi":
            lines.append("mpirun -np %d zen_mpi_tests: exit %d." % (r["np"], r["exit"]))
        elif r.get("stage") == "cuda_vs_cpu":
            lines.append("CUDA vs CPU, %s, 5 steps: fp32 max relative loss difference %s; bf16 (CUDA) vs fp32 (CPU) %s." % (
                r["run"], "%.2e" % r["max_rel_diff_fp32"] if "max_rel_diff_fp32" in r else "n/a",
                "%.2e" % r["max_rel_diff_bf16"] if "max_rel_diff_bf16" in r else "n/a"))
    f = flops_per_token(False)
    lines += ["", "## Zen-Nano, bf16 autocast, fp32 master weights, seq 2048, micro 4, global 16", "",
              "Matrix-product parameters N = %d; FLOPs per token: %.3g (6N + attention), LoRA executed %.3g." % (
                  f["n"], f["six_n"], flops_per_token(True)["executed"]), ""]
    lines += bench_table(report, rows)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
