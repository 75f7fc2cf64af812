"""Loads what `zen export` wrote with transformers / peft and compares their logits.

usage: export_logits.py FIXTURE EXPORT_DIR... [--tol T]
FIXTURE: a safetensors file with input_ids (B, T) int64 and, optionally, logits (B, T, vocab) f32 (zen's
own). Each EXPORT_DIR is an hf export (config.json: AutoModelForCausalLM) or a peft export
(adapter_config.json: PeftModel onto its base_model_name_or_path). Every export's logits are compared with
the fixture's, or without them with the first export's: max |a - b| / max |b| must be at most T (1e-4).
Prints one line per export and exits 1 on any error above T.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def load(folder):
    adapter_config = os.path.join(folder, "adapter_config.json")
    if not os.path.exists(adapter_config):
        return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    from peft import PeftModel
    base_path = json.load(open(adapter_config))["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, attn_implementation="eager")
    return PeftModel.from_pretrained(base, folder)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("fixture")
    parser.add_argument("exports", nargs="+")
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    fixture = load_file(args.fixture)
    ids = fixture["input_ids"]
    want = fixture.get("logits")
    worst = 0.0
    for folder in args.exports:
        model = load(folder).eval()
        with torch.no_grad():
            got = model(input_ids=ids).logits.float()
        if want is None:
            want = got
            print(f"{folder}: reference, logits {tuple(got.shape)}")
            continue
        error = ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()
        worst = max(worst, error)
        print(f"{folder}: logits max rel error {error:.3g}")
    sys.exit(0 if worst <= args.tol else 1)


if __name__ == "__main__":
    main()
