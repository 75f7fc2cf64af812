#!/usr/bin/env bash
# The recipe variants at the guide's contexts (configs/recipes/zen-*-lora-{32k,64k,128k}.yaml): each passes
# `zen validate`, and `zen plan` on the cluster its header states, with the recipe's memory options as they
# are, finds a fitting layout equal to the recipe's parallel section; context parallelism is what it picks
# for the 128K rows of Zen-Coder and Zen-Next.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for recipe in configs/recipes/zen-*-lora-*k.yaml; do
  "$zen" validate "$recipe" > /dev/null
  cluster=$(sed -n 's/^#   zen plan [^ ]* //p' "$recipe")
  [ -n "$cluster" ] || { echo "$recipe: no '#   zen plan RECIPE --nodes ...' line"; exit 1; }
  # shellcheck disable=SC2086
  "$zen" plan "$recipe" $cluster --as-is --json > "$work/plan.json"
  "$zen" validate "$recipe" --json > "$work/recipe.json"
  "$python" - "$recipe" "$work/plan.json" "$work/recipe.json" <<'PY'
import json, sys
recipe, plan, config = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))["config"]
p = config["parallel"]
want = {"tp": p["tensor"], "cp": p["context"], "pp": p["pipeline"], "ep": p["expert"]}
best = plan["best"]
assert best is not None, (recipe, "no layout fits as the recipe sets it")
assert {k: best[k] for k in want} == want, (recipe, best, want)
if recipe.endswith("128k.yaml"):
    assert best["cp"] > 1, (recipe, best)
print("%s: seq %d, best %s" % (recipe, config["train"]["seq_len"], best))
PY
done
echo PASS
