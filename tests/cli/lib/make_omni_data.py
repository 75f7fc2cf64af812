"""A tiny Zen-Omni dataset whose answers depend on the media: tests/cli/omni_data.sh and omni_train.sh.

  make_omni_data.py DIR [RECORDS]

writes DIR/images/*.png|jpg (solid and striped images in six colours), DIR/audio/*.wav (16 kHz tones of
four pitches), and DIR/omni.jsonl: RECORDS (default 200) chat records of four kinds, chosen by a fixed seed:
  image  "<image>\nWhat colour is this?"                 -> the colour's name
  audio  "<audio>\nWhich tone is this?"                  -> the tone's name
  video  "<video>\nWhich colours, frame by frame?"       -> the frames' colours (2-4 frames, from the images)
  both   "<image> <audio>\nColour and tone?"             -> "colour, tone"
Prints a JSON summary: records, images, audios, videos, frames (media referenced, with repeats).
"""
import json
import os
import random
import struct
import sys

import numpy as np
from PIL import Image

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (30, 60, 220),
           "yellow": (230, 220, 40), "white": (245, 245, 245), "black": (15, 15, 15)}
TONES = {"low": 220.0, "middle": 440.0, "high": 880.0, "highest": 1760.0}
RATE = 16000


def write_images(root):
    """Two images per colour: solid (PNG) and striped with grey (PNG, JPEG for every other colour)."""
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    files = {}
    for i, (name, rgb) in enumerate(COLOURS.items()):
        solid = np.zeros((40, 48, 3), np.uint8) + np.array(rgb, np.uint8)
        striped = solid.copy()
        striped[::8] = 128
        ext = "jpg" if i % 2 else "png"
        files[name] = [f"images/{name}_solid.png", f"images/{name}_striped.{ext}"]
        Image.fromarray(solid).save(os.path.join(root, files[name][0]))
        Image.fromarray(striped).save(os.path.join(root, files[name][1]))
    return files


def write_wav(path, samples):
    data = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


def write_audios(root):
    os.makedirs(os.path.join(root, "audio"), exist_ok=True)
    t = np.arange(int(0.5 * RATE)) / RATE
    files = {}
    for name, hz in TONES.items():
        files[name] = f"audio/{name}.wav"
        write_wav(os.path.join(root, files[name]), 0.5 * np.sin(2 * np.pi * hz * t))
    return files


def records(images, audios, count, rng):
    colours, tones = list(COLOURS), list(TONES)
    for i in range(count):
        kind = ["image", "audio", "video", "both"][i % 4]
        colour, tone = rng.choice(colours), rng.choice(tones)
        image = rng.choice(images[colour])
        if kind == "image":
            yield {"messages": [{"role": "user", "content": "<image>\nWhat colour is this?"},
                                {"role": "assistant", "content": colour}], "images": [image]}
        elif kind == "audio":
            yield {"messages": [{"role": "user", "content": "<audio>\nWhich tone is this?"},
                                {"role": "assistant", "content": tone}], "audios": [audios[tone]]}
        elif kind == "video":
            shown = [rng.choice(colours) for _ in range(rng.randint(2, 4))]
            yield {"messages": [{"role": "user", "content": "<video>\nWhich colours, frame by frame?"},
                                {"role": "assistant", "content": ", ".join(shown)}],
                   "videos": [[rng.choice(images[c]) for c in shown]]}
        else:
            yield {"messages": [{"role": "system", "content": "Answer briefly."},
                                {"role": "user", "content": "<image> <audio>\nColour and tone?"},
                                {"role": "assistant", "content": f"{colour}, {tone}"}],
                   "images": [image], "audios": [audios[tone]]}


def main():
    root = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(root, exist_ok=True)
    images, audios = write_images(root), write_audios(root)
    summary = {"records": 0, "images": 0, "audios": 0, "videos": 0, "frames": 0}
    with open(os.path.join(root, "omni.jsonl"), "w") as f:
        for record in records(images, audios, count, random.Random(5)):
            f.write(json.dumps(record) + "\n")
            summary["records"] += 1
            summary["images"] += len(record.get("images", []))
            summary["audios"] += len(record.get("audios", []))
            summary["videos"] += len(record.get("videos", []))
            summary["frames"] += sum(len(v) for v in record.get("videos", []))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
