#include "data/media/image.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

absl::Status Undecodable(const std::string& path, const std::string& why) {
  return BadInput(absl::StrCat(path, ": cannot decode the image (", why, ")"));
}

// ---- PNG: libpng's classic API, so that no gamma or colour-space conversion happens (PIL applies none);
// its errors longjmp back here. Nothing with a destructor may be created between setjmp and the reads.
struct PngRead {
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = "";
  ~PngRead() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

void PngError(png_structp png, png_const_charp message) {
  auto* read = static_cast<PngRead*>(png_get_error_ptr(png));
  std::snprintf(read->message, sizeof(read->message), "%s", message);
  png_longjmp(png, 1);
}
void PngWarning(png_structp, png_const_charp) {}

// Rows of 8-bit RGB: palettes and low-bit grey expanded, 16-bit reduced, grey replicated, alpha dropped.
absl::StatusOr<torch::Tensor> DecodePng(FILE* file, const std::string& path) {
  PngRead r;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, PngError, PngWarning);
  if (r.png == nullptr) return absl::InternalError("png_create_read_struct failed");
  r.info = png_create_info_struct(r.png);
  if (r.info == nullptr) return absl::InternalError("png_create_info_struct failed");
  torch::Tensor rgb;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(r.png))) return Undecodable(path, r.message);
  png_init_io(r.png, file);
  png_read_info(r.png, r.info);
  png_set_expand(r.png);
  png_set_strip_16(r.png);
  png_set_strip_alpha(r.png);
  png_set_gray_to_rgb(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  const int64_t height = png_get_image_height(r.png, r.info), width = png_get_image_width(r.png, r.info);
  if (png_get_rowbytes(r.png, r.info) != static_cast<size_t>(3 * width)) {
    png_error(r.png, "unexpected row layout after conversion to RGB");
  }
  rgb = torch::empty({height, width, 3}, torch::kUInt8);
  rows.resize(height);
  for (int64_t y = 0; y < height; ++y) rows[y] = rgb.data_ptr<uint8_t>() + y * width * 3;
  png_read_image(r.png, rows.data());
  png_read_end(r.png, nullptr);
  return rgb;
}

// ---- JPEG: libjpeg-turbo with its defaults (islow DCT, fancy upsampling), as PIL decodes; output RGB
// (grey converted by the library). Errors longjmp back here.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

void JpegExit(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

absl::StatusOr<torch::Tensor> DecodeJpeg(FILE* file, const std::string& path) {
  jpeg_decompress_struct info;
  JpegError error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JpegExit;
  torch::Tensor rgb;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    return Undecodable(path, error.message);
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, file);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  rgb = torch::empty({info.output_height, info.output_width, 3}, torch::kUInt8);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb.data_ptr<uint8_t>() + static_cast<int64_t>(info.output_scanline) * info.output_width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return rgb;
}

}  // namespace

absl::StatusOr<torch::Tensor> DecodeImage(const std::string& path) {
  File file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return BadInput(absl::StrCat(path, ": cannot open the image (", std::strerror(errno), ")"));
  unsigned char magic[8] = {};
  const size_t got = std::fread(magic, 1, sizeof(magic), file.get());
  std::rewind(file.get());
  if (got == sizeof(magic) && png_sig_cmp(magic, 0, sizeof(magic)) == 0) return DecodePng(file.get(), path);
  if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) return DecodeJpeg(file.get(), path);
  return Undecodable(path, "neither PNG nor JPEG");
}

namespace {

// One antialiased bicubic pass to (height, width), rounded and clamped to uint8 values as PIL stores it.
torch::Tensor ResizePass(const torch::Tensor& x, int64_t height, int64_t width) {
  if (x.size(2) == height && x.size(3) == width) return x;
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{height, width})
                               .mode(torch::kBicubic)
                               .align_corners(false)
                               .antialias(true))
      .round()
      .clamp(0, 255);
}

}  // namespace

torch::Tensor ResizeImage(const torch::Tensor& rgb, int64_t size) {
  torch::Tensor x = rgb.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);  // (1, 3, H, W)
  // PIL resizes columns first into an 8-bit image, then rows; rounding in between as it does keeps
  // overshoot near sharp edges the same (one float pass differs from PIL by up to 6 on noisy images).
  x = ResizePass(x, x.size(2), size);
  x = ResizePass(x, size, size);
  return x.squeeze(0).to(torch::kUInt8).contiguous();  // (3, size, size)
}

absl::StatusOr<torch::Tensor> LoadImage(const std::string& path, int64_t size) {
  ZEN_ASSIGN_OR_RETURN(const torch::Tensor rgb, DecodeImage(path));
  if (rgb.size(0) == 0 || rgb.size(1) == 0) return Undecodable(path, "no pixels");
  return ResizeImage(rgb, size);
}

torch::Tensor NormalizeImages(const torch::Tensor& pixels) {
  // CLIP's (OpenAI) per-channel statistics, as CLIPImageProcessor's image_mean / image_std.
  const auto mean = torch::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({3, 1, 1});
  const auto std = torch::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({3, 1, 1});
  return (pixels.to(torch::kFloat32) / 255.0f - mean) / std;
}

}  // namespace zen
