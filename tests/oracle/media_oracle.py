"""What Pillow and transformers make of images and sounds, for tests/unit/media_test.cpp.

  media_oracle.py image DIR SIZE   writes test images (PNG in every colour type PIL saves, JPEG colour and
                                   grey) to DIR, and beside each NAME: NAME.rgb (PIL's convert("RGB"),
                                   H x W x 3 uint8, with NAME.shape "H W") and NAME.resized (PIL's bicubic
                                   resize of that to SIZE x SIZE, as 3 x SIZE x SIZE uint8).
  media_oracle.py audio DIR MEL FRAMES
                                   writes WAVs (a chirp as 16-bit PCM mono, as float32 stereo, and a short
                                   tone) and beside each NAME: NAME.mel, WhisperFeatureExtractor's log-mel
                                   (feature_size=MEL, padded or cut to FRAMES frames) as MEL x FRAMES float32,
                                   and NAME.mel_np, the same from the extractor's numpy implementation.
"""
import os
import struct
import sys

import numpy as np
from PIL import Image


def write_images(out, size):
    rng = np.random.default_rng(7)
    h, w = 37, 53  # odd sizes: resizing both shrinks and stretches
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([(xx * 255 // (w - 1)), (yy * 255 // (h - 1)), ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb = np.where((xx // 8 % 2 == 0)[..., None], smooth, noise)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    images = {
        "rgb.png": Image.fromarray(rgb, "RGB"),
        "grey.png": Image.fromarray(rgb[..., 0], "L"),
        "rgba.png": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "grey_alpha.png": Image.fromarray(np.dstack([rgb[..., 1], alpha]), "LA"),
        "palette.png": Image.fromarray(rgb, "RGB").quantize(colors=40),
        "rgb.jpg": Image.fromarray(rgb, "RGB"),
        "grey.jpg": Image.fromarray(rgb[..., 2], "L"),
    }
    for name, image in images.items():
        path = os.path.join(out, name)
        if name.endswith(".jpg"):
            image.save(path, quality=90)
        else:
            image.save(path)
        decoded = Image.open(path).convert("RGB")
        pixels = np.asarray(decoded)
        pixels.tofile(path + ".rgb")
        with open(path + ".shape", "w") as f:
            f.write("%d %d\n" % pixels.shape[:2])
        resized = np.asarray(decoded.resize((size, size), Image.BICUBIC))
        np.ascontiguousarray(resized.transpose(2, 0, 1)).tofile(path + ".resized")


def write_wav(path, samples, rate, fmt):
    """samples: (n, channels) float in [-1, 1]; fmt 'pcm16' or 'float32'."""
    channels = samples.shape[1]
    if fmt == "pcm16":
        data = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
        tag, bits = 1, 16
    else:
        data = samples.astype("<f4").tobytes()
        tag, bits = 3, 32
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt_chunk) + 8 + 6 + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk)
        f.write(b"LIST" + struct.pack("<I", 6) + b"INFO\0\0")  # a chunk readers must skip
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def read_back(samples, fmt):
    """The mono float32 signal a reader of that WAV gets: 16-bit quantized / 32768, channels averaged."""
    if fmt == "pcm16":
        samples = np.clip(np.round(samples * 32767), -32768, 32767) / 32768.0
    return samples.astype(np.float32).mean(axis=1, dtype=np.float64).astype(np.float32)


def write_audios(out, mel, frames):
    from transformers import WhisperFeatureExtractor

    rate = 16000
    extractor = WhisperFeatureExtractor(feature_size=mel, sampling_rate=rate)
    n = frames * 160
    t = np.arange(int(1.3 * n)) / rate  # longer than the chunk: the end is cut
    chirp = 0.6 * np.sin(2 * np.pi * (100 * t + 0.5 * (7000 - 100) / t[-1] * t * t))
    short = np.arange(n // 3) / rate  # shorter than the chunk: padded with silence
    tone = 0.3 * np.sin(2 * np.pi * 440 * short)
    sounds = {
        "chirp16.wav": (np.stack([chirp], 1), "pcm16"),
        "chirp_stereo.wav": (np.stack([chirp, 0.5 * chirp[::-1]], 1), "float32"),
        "tone.wav": (np.stack([tone], 1), "pcm16"),
    }
    for name, (samples, fmt) in sounds.items():
        path = os.path.join(out, name)
        write_wav(path, samples, rate, fmt)
        signal = read_back(samples, fmt)
        features = extractor(signal, sampling_rate=rate, return_tensors="np", padding="max_length",
                             max_length=n, truncation=True).input_features[0]
        assert features.shape == (mel, frames), features.shape
        features.astype("<f4").tofile(path + ".mel")
        # With torch installed the extractor computes through torch.stft, as zen does; its numpy path
        # (float64 STFT, its own filterbank use) is a second, independent oracle.
        padded = np.zeros(n, np.float32)
        padded[:min(n, len(signal))] = signal[:n]
        extractor._np_extract_fbank_features(padded[None], "cpu")[0].astype("<f4").tofile(path + ".mel_np")


if __name__ == "__main__":
    if sys.argv[1] == "image":
        write_images(sys.argv[2], int(sys.argv[3]))
    else:
        write_audios(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
