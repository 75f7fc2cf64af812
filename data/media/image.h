// Images for Zen-Omni's vision encoder: PNG (libpng) and JPEG (libjpeg-turbo) files decoded to RGB,
// resized to the encoder's square input and normalized with CLIP's mean and standard deviation.
//
// Preparation stores the resized pixels as uint8 (ResizeImage: what CLIPImageProcessor holds after its
// PIL resize) and training normalizes them (NormalizeImages), so prepared media take a quarter of the
// float size.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "core/status.h"

namespace zen {

// The file's pixels as (H, W, 3) uint8 RGB: grey replicated, alpha dropped (as PIL's convert("RGB")),
// palettes expanded, 16-bit samples reduced to 8. A missing, unreadable or undecodable file is a
// bad-input error naming it; the format is taken from the file's first bytes, not its name.
absl::StatusOr<torch::Tensor> DecodeImage(const std::string& path);

// (H, W, 3) uint8 -> (3, size, size) uint8: bicubic with antialiasing (torch's interpolate, whose
// antialiased bicubic is PIL's filter, a = -0.5, widened by the scale when shrinking), width then
// height, each pass rounded and clamped to 8 bits as PIL does, so the result is PIL's bicubic resize
// (CLIPImageProcessor's) within 1. The whole image is resized (no crop): nothing at its edges is lost.
torch::Tensor ResizeImage(const torch::Tensor& rgb, int64_t size);

// DecodeImage then ResizeImage.
absl::StatusOr<torch::Tensor> LoadImage(const std::string& path, int64_t size);

// (..., 3, S, S) uint8 -> float32 (x / 255 - mean) / std per channel, with CLIP's mean and std.
torch::Tensor NormalizeImages(const torch::Tensor& pixels);

}  // namespace zen
