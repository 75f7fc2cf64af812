#!/usr/bin/env bash
# `zen validate`: every shipped recipe passes (the five guide recipes with the contract's derived numbers in --json), and a
# misspelt override exits 2 with one message naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
for model in nano eco coder omni next; do
  recipe=configs/recipes/zen-$model-lora.yaml
  "$zen" validate "$recipe" > /dev/null
  "$zen" validate "$recipe" --json | "$python" -c '
import json, sys
out = json.load(sys.stdin)
for key in ["params_total", "params_active", "params_trainable", "trainable_pct", "tokens_per_step", "total_steps"]:
    assert key in out["derived"], key
assert out["derived"]["params_total"] > 0 and out["derived"]["total_steps"] > 0
assert "params_total" in out["reference"], "the guide gives every model a total"
assert out["config"]["lora"]["rank"] > 0
'
  echo "validate $recipe: ok"
done

# The variants (long context, blends, real bases) validate too.
for recipe in configs/recipes/*.yaml; do
  case "${recipe##*/}" in zen-nano-lora.yaml | zen-eco-lora.yaml | zen-coder-lora.yaml | zen-omni-lora.yaml | zen-next-lora.yaml) continue ;; esac
  "$zen" validate "$recipe" > /dev/null || { echo "FAIL: zen validate $recipe"; exit 1; }
  echo "validate $recipe: ok"
done

set +e
err=$("$zen" validate configs/recipes/zen-nano-lora.yaml train.max_stepz=3 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "misspelt override: expected exit 2, got $rc"; exit 1; }
[ "$(echo "$err" | wc -l)" -eq 1 ] || { echo "expected one line of error, got: $err"; exit 1; }
echo "$err" | grep -q "train.max_stepz" || { echo "message does not name the key: $err"; exit 1; }
echo "misspelt override: exit 2, '$err'"

set +e
"$zen" validate configs/recipes/no-such-recipe.yaml > /dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "missing recipe: expected exit 2, got $rc"; exit 1; }
echo "PASS"
