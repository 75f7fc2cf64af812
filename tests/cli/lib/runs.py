"""Comparing CLI test runs' metrics.jsonl (imported by the equivalence tests' embedded Python).

A run is a folder under the test's work folder holding metrics.jsonl (one JSON row per step) and run.json.
"""
import json
import os


def rows(work, run):
    """The metrics.jsonl rows of work/run, one dict per step."""
    with open(os.path.join(work, run, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def close(a, b, rel):
    """Whether a and b agree to a relative tolerance rel (of the larger magnitude)."""
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def compare(work, base_name, name, keys, rel, failures, steps=None):
    """Compares run `name` with run `base_name` step by step on `keys` (scalars, or lists compared
    elementwise) to relative tolerance rel, appending one message per mismatch to failures.
    steps: the row count both runs must have (None: not checked). Returns (base rows, other rows, the
    worst relative difference over the scalar keys)."""
    base, other = rows(work, base_name), rows(work, name)
    if steps is not None:
        assert len(base) == len(other) == steps, (base_name, name, len(base), len(other))
    worst = 0.0
    for a, b in zip(base, other):
        for key in keys:
            if isinstance(a[key], list):
                if len(a[key]) != len(b[key]) or any(not close(x, y, rel) for x, y in zip(a[key], b[key])):
                    failures.append("%s step %d %s: %s %s, %s %s" % (name, a["step"], key, base_name, a[key], name, b[key]))
                continue
            worst = max(worst, abs(a[key] - b[key]) / max(abs(a[key]), 1e-12))
            if not close(a[key], b[key], rel):
                failures.append("%s step %d %s: %s %.9g, %s %.9g" % (name, a["step"], key, base_name, a[key], name, b[key]))
    return base, other, worst
