#!/usr/bin/env bash
# `zen sweep` checks every point's layout against its model before any run starts (CheckLayoutShapes,
# as `zen validate` and `zen train` do): a point whose parallel.tensor does not divide the heads exits 2
# naming the sweep file, the point and the shape, and nothing is created; the same sweep without that
# point plans fine.
set -euo pipefail
zen=$1 src=$2
cd "$src"
source tests/cli/lib/nano_tiny.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

sweep() {  # sweep NAME TENSOR_DEGREES: writes NAME.yaml, runs `zen sweep --dry-run`, exit status in $rc
  cat > "$work/$1.yaml" <<YAML
recipe: configs/recipes/zen-nano-lora.yaml
overrides: [data.source=demo, model.layers=2, $(printf '%s, ' "${nano_tiny[@]}")train.max_steps=2]
grid:
  parallel.tensor: [$2]
output_dir: $work/$1-out
YAML
  rc=0
  "$zen" sweep "$work/$1.yaml" --dry-run > "$work/$1.log" 2>&1 || rc=$?
}

sweep bad "1, 3"
[ "$rc" = 2 ] || { cat "$work/bad.log"; fail "a point with parallel.tensor=3 (4 heads): expected exit 2, got $rc"; }
grep -q "$work/bad.yaml: run parallel.tensor=3: parallel.tensor=3: model.heads (4) is not divisible by 3" "$work/bad.log" ||
  { cat "$work/bad.log"; fail "the message does not name the sweep file, the point and the shape"; }
[ ! -e "$work/bad-out" ] || fail "the bad sweep created its output_dir"
echo "bad point: exit 2, '$(cat "$work/bad.log")'"

sweep good "1, 2"
[ "$rc" = 0 ] || { cat "$work/good.log"; fail "parallel.tensor 1 and 2 (4 heads): expected the plan, got exit $rc"; }
[ "$(grep -c '^[0-9]  parallel.tensor=' "$work/good.log")" = 2 ] || { cat "$work/good.log"; fail "expected two planned runs"; }
echo PASS
