#include "data/media/audio.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

absl::Status BadWav(const std::string& path, const std::string& why) {
  return BadInput(absl::StrCat(path, ": cannot read the audio (", why, ")"));
}

template <typename T>
T Little(const std::string& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));  // WAV is little-endian, as the hosts we build for
  return value;
}

struct WavFormat {
  uint16_t tag = 0;  // 1 = PCM, 3 = IEEE float (0xFFFE extensible: the sub-format's tag)
  uint16_t channels = 0;
  uint32_t rate = 0;
  uint16_t bits = 0;
};

absl::StatusOr<WavFormat> ParseFmt(const std::string& bytes, size_t at, uint32_t size, const std::string& path) {
  if (size < 16) return BadWav(path, "fmt chunk too short");
  WavFormat f;
  f.tag = Little<uint16_t>(bytes, at);
  f.channels = Little<uint16_t>(bytes, at + 2);
  f.rate = Little<uint32_t>(bytes, at + 4);
  f.bits = Little<uint16_t>(bytes, at + 14);
  if (f.tag == 0xFFFE && size >= 26) f.tag = Little<uint16_t>(bytes, at + 24);  // sub-format GUID's first bytes
  const bool supported = (f.tag == 1 && f.bits == 16) || (f.tag == 3 && f.bits == 32);
  if (!supported) return BadWav(path, absl::StrCat("format tag ", f.tag, " with ", f.bits, "-bit samples; expected 16-bit PCM or 32-bit float"));
  if (f.channels == 0) return BadWav(path, "no channels");
  if (f.rate != kAudioSampleRate) {
    return BadWav(path, absl::StrCat(f.rate, " Hz; expected ", kAudioSampleRate, " Hz (resample it, e.g. ffmpeg -ar 16000)"));
  }
  return f;
}

// (frames,) float32: each frame's channels averaged.
torch::Tensor ToMono(const std::string& bytes, size_t at, size_t size, const WavFormat& f) {
  const int64_t channels = f.channels, frames = static_cast<int64_t>(size / (channels * f.bits / 8));
  torch::Tensor interleaved;
  if (f.tag == 1) {
    std::vector<int16_t> pcm(frames * channels);
    std::memcpy(pcm.data(), bytes.data() + at, pcm.size() * sizeof(int16_t));
    interleaved = torch::from_blob(pcm.data(), {frames, channels}, torch::kInt16).to(torch::kFloat32) / 32768.0f;
  } else {
    interleaved = torch::empty({frames, channels}, torch::kFloat32);
    std::memcpy(interleaved.data_ptr<float>(), bytes.data() + at, interleaved.numel() * sizeof(float));
  }
  return channels == 1 ? interleaved.view({frames}) : interleaved.mean(1);
}

double HertzToMel(double hz) {  // slaney: linear below 1 kHz, logarithmic above
  const double logstep = 27.0 / std::log(6.4);
  return hz < 1000.0 ? 3.0 * hz / 200.0 : 15.0 + std::log(hz / 1000.0) * logstep;
}

double MelToHertz(double mel) {
  const double logstep = std::log(6.4) / 27.0;
  return mel < 15.0 ? 200.0 * mel / 3.0 : 1000.0 * std::exp(logstep * (mel - 15.0));
}

}  // namespace

absl::StatusOr<torch::Tensor> ReadWav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return BadInput(absl::StrCat(path, ": cannot open the audio (", std::strerror(errno), ")"));
  std::stringstream contents;
  contents << in.rdbuf();
  const std::string bytes = contents.str();
  if (bytes.size() < 12 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0) {
    return BadWav(path, "not a RIFF/WAVE file");
  }
  std::optional<WavFormat> format;
  for (size_t at = 12; at + 8 <= bytes.size();) {  // chunks: id, uint32 size, data padded to even
    const std::string id = bytes.substr(at, 4);
    const uint32_t size = Little<uint32_t>(bytes, at + 4);
    const size_t body = at + 8;
    if (id == "fmt ") {
      if (body + size > bytes.size()) return BadWav(path, "truncated fmt chunk");
      ZEN_ASSIGN_OR_RETURN(format, ParseFmt(bytes, body, size, path));
    } else if (id == "data") {
      if (!format) return BadWav(path, "data before fmt");
      // A streamed WAV may leave the size at its maximum: take what the file holds.
      return ToMono(bytes, body, std::min<size_t>(size, bytes.size() - body), *format);
    }
    at = body + size + (size & 1);
  }
  return BadWav(path, "no data chunk");
}

torch::Tensor MelFilterbank(int64_t mel_bins) {
  const int64_t bins = kMelFft / 2 + 1;
  const double top = HertzToMel(kAudioSampleRate / 2);  // Whisper's filters span 0 Hz to Nyquist (8 kHz)
  std::vector<double> centres(mel_bins + 2);  // mel_bins triangles need mel_bins + 2 edges, equally spaced in mel
  for (int64_t m = 0; m < mel_bins + 2; ++m) centres[m] = MelToHertz(top * m / (mel_bins + 1));
  auto filters = torch::zeros({mel_bins, bins}, torch::kFloat64);
  auto f = filters.accessor<double, 2>();
  for (int64_t m = 0; m < mel_bins; ++m) {
    const double norm = 2.0 / (centres[m + 2] - centres[m]);  // slaney: equal area per triangle
    for (int64_t k = 0; k < bins; ++k) {
      const double hz = static_cast<double>(k) * (kAudioSampleRate / 2) / (bins - 1);
      const double rise = (hz - centres[m]) / (centres[m + 1] - centres[m]);
      const double fall = (centres[m + 2] - hz) / (centres[m + 2] - centres[m + 1]);
      f[m][k] = std::max(0.0, std::min(rise, fall)) * norm;
    }
  }
  return filters.to(torch::kFloat32);
}

torch::Tensor LogMel(const torch::Tensor& samples, int64_t mel_bins, int64_t chunk_frames) {
  const int64_t n = chunk_frames * kMelHop;
  torch::Tensor x = samples.to(torch::kFloat32).flatten();
  x = x.size(0) >= n ? x.slice(0, 0, n) : torch::constant_pad_nd(x, {0, n - x.size(0)}, 0.0);
  const torch::Tensor window = torch::hann_window(kMelFft, torch::TensorOptions().dtype(torch::kFloat32));
  // (kMelFft / 2 + 1, chunk_frames + 1) complex; centred frames, so one more than n / hop.
  const torch::Tensor spectrum = torch::stft(x, kMelFft, kMelHop, kMelFft, window, /*center=*/true, "reflect",
                                             /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
  const torch::Tensor power = spectrum.slice(1, 0, chunk_frames).abs().pow(2);  // Whisper drops the last frame
  torch::Tensor mel = torch::matmul(MelFilterbank(mel_bins), power);            // (mel_bins, chunk_frames)
  mel = mel.clamp_min(1e-10).log10();
  mel = torch::maximum(mel, mel.max() - 8.0);
  return ((mel + 4.0) / 4.0).contiguous();
}

absl::StatusOr<torch::Tensor> LoadAudio(const std::string& path, int64_t mel_bins, int64_t chunk_frames) {
  ZEN_ASSIGN_OR_RETURN(const torch::Tensor samples, ReadWav(path));
  return LogMel(samples, mel_bins, chunk_frames);
}

}  // namespace zen
