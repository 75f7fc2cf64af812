// TensorBoard event files for scalar curves, written without TensorFlow: protobuf Events
// (tensorboard_event.proto) framed as TFRecords, which `tensorboard --logdir DIR` reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zen {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing uses.
uint32_t Crc32c(const void* data, size_t size);
// TFRecord's masked form, ((crc >> 15) | (crc << 17)) + 0xa282ead8: a CRC stored next to the data it
// covers would otherwise be easy to confuse with data when CRCs are nested.
uint32_t MaskedCrc32c(const void* data, size_t size);

// One TFRecord: uint64 length, masked crc32c of those 8 bytes, data, masked crc32c of data, all
// little-endian.
std::string FrameRecord(const std::string& data);

class TensorBoardWriter {
 public:
  // Creates `dir` if needed and opens dir/events.out.tfevents.<unix time>.<hostname> (appending, should
  // a writer of the same second have made it), whose first record says "brain.Event:2".
  static absl::StatusOr<std::unique_ptr<TensorBoardWriter>> Open(const std::string& dir);
  ~TensorBoardWriter();  // flushes and closes
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One point of the curve `tag` (e.g. "train/loss"), stamped with the current wall time. Buffered:
  // the first write error is kept and returned by Flush.
  void AddScalar(const std::string& tag, int64_t step, double value);
  absl::Status Flush();

  const std::string& path() const { return path_; }

 private:
  TensorBoardWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  void WriteRecord(const std::string& event_bytes);

  std::string path_;
  std::FILE* file_;
  absl::Status error_;  // the first failed write
};

}  // namespace zen
