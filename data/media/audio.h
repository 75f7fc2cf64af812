// Sounds for Zen-Omni's audio encoder: WAV files read to 16 kHz mono, then Whisper's log-mel spectrogram,
// computed as transformers' WhisperFeatureExtractor does (the test compares with it).
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "core/status.h"

namespace zen {

inline constexpr int64_t kAudioSampleRate = 16000;  // Whisper's; other rates are refused, not resampled
inline constexpr int64_t kMelFft = 400;             // 25 ms windows
inline constexpr int64_t kMelHop = 160;             // 10 ms: chunk_frames frames take chunk_frames x 160 samples

// A WAV file's samples as (n,) float32: 16-bit PCM / 32768 or 32-bit IEEE float, channels averaged to
// mono. Errors name the file: missing, not RIFF/WAVE, another encoding (8/24/32-bit PCM, a-law, ...),
// or a sample rate other than 16 kHz (resampling would hide a mistake in the data; convert beforehand,
// e.g. `ffmpeg -i in.wav -ar 16000 out.wav`).
absl::StatusOr<torch::Tensor> ReadWav(const std::string& path);

// Slaney-style mel filterbank of librosa / Whisper (slaney mel scale, slaney area normalisation) from 0
// to 8 kHz: (mel_bins, kMelFft / 2 + 1) float32.
torch::Tensor MelFilterbank(int64_t mel_bins);

// Whisper's features of `samples` ((n,) float32 at 16 kHz), padded with silence or cut to
// chunk_frames x kMelHop samples first: |STFT|^2 (Hann window, centred with reflection, the last frame
// dropped), mel filterbank, log10 (clamped at 1e-10), floored at 8 below its maximum, then (x + 4) / 4.
// -> (mel_bins, chunk_frames) float32.
torch::Tensor LogMel(const torch::Tensor& samples, int64_t mel_bins, int64_t chunk_frames);

// ReadWav then LogMel.
absl::StatusOr<torch::Tensor> LoadAudio(const std::string& path, int64_t mel_bins, int64_t chunk_frames);

}  // namespace zen
