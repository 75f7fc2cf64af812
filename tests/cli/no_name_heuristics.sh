#!/usr/bin/env bash
# No parameter-name heuristics in parallel/, trainer/ or checkpoints/ (issue 18): how a parameter is split,
# which groups its gradient is partial over, how it is initialised, whether it is a routed expert's or an
# adapter all come from its ParamInfo (parallel/param_info.h), declared where the module registers it,
# never from a suffix or substring of its name ("q_norm.weight", ".experts.", "lora_"). The Hugging Face
# and PEFT name mappings (checkpoints/hf_*.cpp, checkpoints/peft_*.cpp) are exempt: translating names is their job. Fails listing each line
# that tests part of a name.
set -euo pipefail
src=$2
cd "$src"
# Suffix, prefix and substring tests, and find/rfind of a literal naming a parameter or module kind.
name_words='weight|bias|norm|proj|lora|expert|embed|mlp|attn|router|gate|head|A_log|dt_bias|conv'
pattern="EndsWith|ends_with|StartsWith|starts_with|StrContains|ConsumeSuffix|ConsumePrefix|std::regex|find\(\"[^\"]*($name_words)"
hits=$(grep -nE "$pattern" parallel/*.h parallel/*.cpp trainer/*.h trainer/*.cpp checkpoints/*.h checkpoints/*.cpp |
  grep -vE '^checkpoints/(hf|peft)_[a-z_]+\.(h|cpp):' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$hits" ]; then
  echo "FAIL: parameter-name tests outside the Hugging Face name mapping (use ParamInfo, parallel/param_info.h):"
  echo "$hits"
  exit 1
fi
# The check can fail: the rule it enforces once did not hold (parallel/tp_gradients.cpp matched a suffix).
probe=$(printf '%s\n' '  if (absl::EndsWith(name, "q_norm.weight")) partial = true;' '  if (name.find(".experts.") != npos) {}' |
  grep -cE "$pattern")
[ "$probe" = 2 ] || { echo "FAIL: the pattern no longer catches a suffix or substring test ($probe of 2)"; exit 1; }
echo "PASS: no parameter-name suffix or substring tests in parallel/, trainer/, checkpoints/ (hf_*, peft_* aside)"
