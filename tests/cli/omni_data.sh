#!/usr/bin/env bash
# Zen-Omni's multimodal data: `zen data prepare --recipe` with a tiny Omni recipe turns chat records with
# images, videos and audio (tests/cli/lib/make_omni_data.py) into token shards plus media: each <image>,
# <video>, <audio> became its run of placeholder ids (untrained), the stored pixels are PIL's bicubic resize
# of the file and the stored log-mels WhisperFeatureExtractor's; `zen validate` counts one row per record.
# Bad records (a count mismatch, a missing or corrupt file, media without an Omni recipe) exit 2 naming
# FILE:LINE and the path.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$python" "$src/tests/cli/lib/make_omni_data.py" "$work/omni" > made.json
recipe=$src/configs/recipes/zen-omni-lora.yaml
source "$src/tests/cli/lib/omni_tiny.sh"
tiny=("${omni_tiny[@]}")
# plain: the checks below render turns as role and content (Qwen3's think blocks: tests/unit/chat_template_*)
"$zen" data prepare --recipe "$recipe" "${tiny[@]}" --input omni/omni.jsonl --threads 2 --chat-template plain > summary.json

"$python" - "$work" <<'PY'
import hashlib, json, os, sys
import numpy as np
from PIL import Image
from transformers import WhisperFeatureExtractor

work = sys.argv[1]
os.chdir(work)
made, summary = json.load(open("made.json")), json.load(open("summary.json"))
m = json.load(open("shards/manifest.json"))
records = [json.loads(l) for l in open("omni/omni.jsonl")]
media = m["media"]
for key in ("images", "videos", "audios"):
    assert summary[key] == media[key] == made[key], (key, summary, media, made)
assert media["frames"] == made["frames"] and m["documents"] == len(records) == 200, (media, m["documents"])
shape = media["shape"]
assert (shape["image_size"], shape["image_tokens"], shape["frame_tokens"], shape["audio_tokens"]) == (28, 1, 1, 16), shape
assert (shape["image_token_id"], shape["video_token_id"], shape["audio_token_id"]) == (509, 510, 511), shape
for f in list(media["files"].values()) + [s[k] for s in m["shards"] for k in ("ids", "mask", "docs")]:
    data = open(os.path.join("shards", f["name"]), "rb").read()
    assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]

ids = np.concatenate([np.fromfile("shards/" + s["ids"]["name"], "<u4") for s in m["shards"]])
mask = np.concatenate([np.fromfile("shards/" + s["mask"]["name"], "u1") for s in m["shards"]])
docs = np.fromfile("shards/" + m["shards"][0]["docs"]["name"], "<u8")
index = np.fromfile("shards/media.index", "<u8").reshape(-1, 3)
assert len(m["shards"]) == 1 and len(index) == len(records) + 1

def runs(doc_ids):
    """[(id, length)] of the placeholder runs, in order."""
    out = []
    for t, i in enumerate(doc_ids):
        if i >= 509:
            if out and out[-1][0] == i and doc_ids[t - 1] == i:
                out[-1][1] += 1
            else:
                out.append([int(i), 1])
    return [tuple(r) for r in out]

def text(doc_ids):
    specials = {256: "<|endoftext|>", 257: "<|im_start|>", 258: "<|im_end|>", 509: "<image>", 510: "<video>", 511: "<audio>"}
    out, last = [], None
    for i in doc_ids:
        if i >= 509 and i == last:
            continue
        out.append(specials[i] if i >= 256 else chr(i))
        last = i
    return "".join(out)

for d, r in enumerate(records):
    doc = ids[docs[d]:docs[d + 1]]
    expected = []
    content = "".join(t["content"] for t in r["messages"])
    images, videos, audios = iter(r.get("images", [])), iter(r.get("videos", [])), iter(r.get("audios", []))
    for at in range(len(content)):
        for marker, pid in (("<image>", 509), ("<video>", 510), ("<audio>", 511)):
            if content.startswith(marker, at):
                length = {509: 1, 510: len(next(videos, [])), 511: 16}[pid]
                expected.append((pid, length))
                if pid == 509: next(images)
                if pid == 511: next(audios)
    assert runs(doc) == expected, (d, runs(doc), expected)
    rendered = "".join("<|im_start|>%s\n%s<|im_end|>\n" % (t["role"], t["content"]) for t in r["messages"])
    assert text(doc) == rendered, (d, text(doc), rendered)
    assert not mask[docs[d]:docs[d + 1]][doc >= 509].any(), d  # placeholders earn no loss
    answer = r["messages"][-1]["content"] + "<|im_end|>"
    assert text(doc[mask[docs[d]:docs[d + 1]] == 1]) == answer, d
    counts = (len(r.get("images", [])), sum(len(v) for v in r.get("videos", [])), len(r.get("audios", [])))
    assert tuple(index[d + 1] - index[d]) == counts, (d, index[d], index[d + 1], counts)
print("tokens: 200 records, every <image>/<video>/<audio> a run of 509 x 1 / 510 x frames / 511 x 16 in order, "
      "untrained; text around them and the trained answers as rendered; media index counts per record")

# Stored media against PIL's resize and WhisperFeatureExtractor, in placeholder order.
stored_images = np.fromfile("shards/media.images", "u1").reshape(-1, 3, 28, 28)
stored_frames = np.fromfile("shards/media.frames", "u1").reshape(-1, 3, 28, 28)
stored_mels = np.fromfile("shards/media.audios", "<f4").reshape(-1, 16, 64)
extractor = WhisperFeatureExtractor(feature_size=16, sampling_rate=16000)
def pil(path):
    image = Image.open(os.path.join("omni", path)).convert("RGB").resize((28, 28), Image.BICUBIC)
    return np.asarray(image).transpose(2, 0, 1).astype(int)
def mel(path):
    raw = open(os.path.join("omni", path), "rb").read()
    samples = np.frombuffer(raw[44:], "<i2").astype(np.float32) / 32768
    return extractor(samples, sampling_rate=16000, return_tensors="np", padding="max_length", max_length=64 * 160,
                     truncation=True).input_features[0]
worst = {"image": 0, "frame": 0, "mel": 0.0}
i = f = a = 0
for r in records:
    for path in r.get("images", []):
        worst["image"] = max(worst["image"], np.abs(stored_images[i].astype(int) - pil(path)).max()); i += 1
    for video in r.get("videos", []):
        for path in video:
            worst["frame"] = max(worst["frame"], np.abs(stored_frames[f].astype(int) - pil(path)).max()); f += 1
    for path in r.get("audios", []):
        worst["mel"] = max(worst["mel"], float(np.abs(stored_mels[a] - mel(path)).max())); a += 1
assert (i, f, a) == (len(stored_images), len(stored_frames), len(stored_mels))
assert worst["image"] <= 1 and worst["frame"] <= 1 and worst["mel"] < 1e-3, worst
print("media: %d images, %d frames, %d log-mels; max |zen - PIL bicubic| %d (images), %d (frames); "
      "max |zen - WhisperFeatureExtractor| %.2g" % (i, f, a, worst["image"], worst["frame"], worst["mel"]))
PY

# One row per record: an epoch is 200 rows of seq_len tokens.
"$zen" validate "$recipe" "${tiny[@]}" train.seq_len=128 train.global_batch_size=8 train.epochs=1 --json > validate.json
"$python" - <<'PY'
import json
d = json.load(open("validate.json"))["derived"]
assert d["tokens_per_epoch"] == 200 * 128 and d["total_steps"] == 25, d
print("validate: one row per record, tokens_per_epoch = 200 x 128, 25 steps of 8 rows")
PY

# Bad records exit 2 naming FILE:LINE (and the path of a missing or corrupt file).
expect_bad() {  # name, record (line 2 of its file), words the message must hold
  local name=$1 record=$2; shift 2
  head -1 omni/omni.jsonl > "omni/$name.jsonl"
  echo "$record" >> "omni/$name.jsonl"
  set +e
  "$zen" data prepare --recipe "$recipe" "${tiny[@]}" --input "omni/$name.jsonl" --output "bad-$name" 2> err; rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "$name: expected exit 2, got $rc"; cat err; exit 1; }
  for words in "omni/$name.jsonl:2" "$@"; do
    grep -qF -- "$words" err || { echo "$name: the message lacks '$words':"; cat err; exit 1; }
  done
  echo "$name: exit 2, $(tail -1 err)"
}
expect_bad count '{"messages": [{"role": "user", "content": "<image><image>"}, {"role": "assistant", "content": "red"}], "images": ["images/red_solid.png"]}' \
  "<image> occurs 2 times" "images has 1 entry"
expect_bad unlisted '{"messages": [{"role": "user", "content": "<audio>?"}, {"role": "assistant", "content": "low"}]}' \
  "<audio> occurs 1 time" "audios has 0 entries"
expect_bad missing '{"messages": [{"role": "user", "content": "<image>"}, {"role": "assistant", "content": "red"}], "images": ["images/nowhere.png"]}' \
  "images[0]" "omni/images/nowhere.png"
printf 'not a png' > omni/images/corrupt.png
expect_bad corrupt '{"messages": [{"role": "user", "content": "<video>"}, {"role": "assistant", "content": "red"}], "videos": [["images/red_solid.png", "images/corrupt.png"]]}' \
  "videos[0][1]" "omni/images/corrupt.png" "cannot decode"
expect_bad long_video '{"messages": [{"role": "user", "content": "<video>"}, {"role": "assistant", "content": "red"}], "videos": [["images/red_solid.png", "images/red_solid.png", "images/red_solid.png", "images/red_solid.png", "images/red_solid.png"]]}' \
  "videos[0]" "1 to 4 frame"

# Media without a multimodal recipe: the token counts are unknown, so the record is refused.
set +e
"$zen" data prepare --tokenizer bytes --input omni/omni.jsonl --output plain --format chat 2> err; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -qF "omni/omni.jsonl:1" err && grep -qF "Zen-Omni recipe" err \
  || { echo "no recipe: expected exit 2 naming the line, got $rc"; cat err; exit 1; }
echo "no recipe: exit 2, $(cat err)"
echo "PASS"
