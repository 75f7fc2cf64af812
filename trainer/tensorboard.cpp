#include "trainer/tensorboard.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tensorboard_event.pb.h"  // (generated) defines: zen::tb::Event, zen::tb::Summary

namespace zen {
namespace {

// table[b] = CRC of the single byte b, reflected, for byte-at-a-time updates.
std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0u);
    table[b] = crc;
  }
  return table;
}

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

double WallTime() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = MakeCrc32cTable();
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t MaskedCrc32c(const void* data, size_t size) {
  const uint32_t crc = Crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string FrameRecord(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  AppendLittleEndian(out, data.size(), 8);
  AppendLittleEndian(out, MaskedCrc32c(out.data(), 8), 4);
  out += data;
  AppendLittleEndian(out, MaskedCrc32c(data.data(), data.size()), 4);
  return out;
}

absl::StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::string path = absl::StrCat(dir, "/events.out.tfevents.", static_cast<int64_t>(std::time(nullptr)),
                                  ".", HostName());
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<TensorBoardWriter> writer(new TensorBoardWriter(std::move(path), file));
  tb::Event event;
  event.set_wall_time(WallTime());
  event.set_file_version("brain.Event:2");
  writer->WriteRecord(event.SerializeAsString());
  if (absl::Status s = writer->Flush(); !s.ok()) return s;
  return writer;
}

TensorBoardWriter::~TensorBoardWriter() { std::fclose(file_); }

void TensorBoardWriter::AddScalar(const std::string& tag, int64_t step, double value) {
  tb::Event event;
  event.set_wall_time(WallTime());
  event.set_step(step);
  tb::Summary::Value* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));  // TensorBoard's scalars are fp32
  WriteRecord(event.SerializeAsString());
}

void TensorBoardWriter::WriteRecord(const std::string& event_bytes) {
  const std::string record = FrameRecord(event_bytes);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() && error_.ok()) {
    error_ = absl::InternalError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
}

absl::Status TensorBoardWriter::Flush() {
  if (std::fflush(file_) != 0 && error_.ok()) {
    error_ = absl::InternalError(absl::StrCat("cannot flush ", path_, ": ", std::strerror(errno)));
  }
  return error_;
}

}  // namespace zen
