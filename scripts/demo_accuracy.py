"""Scores `zen generate` on the demo task's held-out additions (scripts/demo.sh, tests/cli/demo_learns.sh).

    python scripts/demo_accuracy.py QUESTIONS ANSWERS [--examples N] [--min-accuracy A]

QUESTIONS is a demo run's demo_held_out.jsonl ({"prompt": "What is 0+18?", "answer": "18"} per line, the
pairs no demo corpus holds); ANSWERS is what `zen generate --chat --input QUESTIONS` wrote for it, one
{"prompt", "completion", "ids"} line per question in the same order. An answer is right when the
completion, stripped of surrounding white space, is exactly the sum. Prints the accuracy and the first N
question -> answer pairs; exits 1 when the accuracy is below --min-accuracy (a fraction).
"""
import argparse
import json
import sys


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions")
    parser.add_argument("answers")
    parser.add_argument("--examples", type=int, default=8, help="question -> answer pairs to print")
    parser.add_argument("--min-accuracy", type=float, default=0.0, help="exit 1 below this fraction")
    args = parser.parse_args()
    questions, answers = read_lines(args.questions), read_lines(args.answers)
    if len(questions) != len(answers) or not questions:
        sys.exit("%s has %d lines for the %d questions of %s" % (args.answers, len(answers), len(questions), args.questions))
    right = [a["completion"].strip() == q["answer"] for q, a in zip(questions, answers)]
    accuracy = sum(right) / len(right)
    print("held-out accuracy: %d/%d = %.1f%% (additions no demo corpus holds)" % (sum(right), len(right), 100 * accuracy))
    # Examples spread over the file (it is in order of the addends), wrong answers marked.
    step = max(1, len(questions) // max(1, args.examples))
    for i in range(0, min(len(questions), step * args.examples), step):
        mark = "" if right[i] else "   (wrong: %s)" % questions[i]["answer"]
        print("  %-16s -> %s%s" % (questions[i]["prompt"], answers[i]["completion"].strip(), mark))
    if accuracy < args.min_accuracy:
        sys.exit("held-out accuracy %.3f is below %.3f" % (accuracy, args.min_accuracy))


if __name__ == "__main__":
    main()
