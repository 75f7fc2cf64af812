#include "data/media/media_files.h"

namespace zen {

absl::Status MediaWriter::Open() {
  ZEN_RETURN_IF_ERROR(images_.Open(dir_, kMediaImages));
  ZEN_RETURN_IF_ERROR(frames_.Open(dir_, kMediaFrames));
  ZEN_RETURN_IF_ERROR(audios_.Open(dir_, kMediaAudios));
  ZEN_RETURN_IF_ERROR(index_.Open(dir_, kMediaIndex));
  return WriteIndex();
}

// One row of the index: the media written so far, where the next document's begin.
absl::Status MediaWriter::WriteIndex() {
  const uint64_t row[kMediaIndexWidth] = {static_cast<uint64_t>(entry_.images), static_cast<uint64_t>(entry_.frames),
                                          static_cast<uint64_t>(entry_.audios)};
  return index_.Write(row, sizeof(row));
}

absl::Status MediaWriter::Add(const RecordMedia& media) {
  if (!index_.is_open()) ZEN_RETURN_IF_ERROR(Open());
  for (const torch::Tensor& image : media.images) ZEN_RETURN_IF_ERROR(images_.Write(image.data_ptr<uint8_t>(), ImageBytes(shape_)));
  for (const torch::Tensor& frame : media.frames) ZEN_RETURN_IF_ERROR(frames_.Write(frame.data_ptr<uint8_t>(), FrameBytes(shape_)));
  for (const torch::Tensor& mel : media.audios) ZEN_RETURN_IF_ERROR(audios_.Write(mel.data_ptr<float>(), AudioBytes(shape_)));
  entry_.images += static_cast<int64_t>(media.images.size());
  entry_.frames += static_cast<int64_t>(media.frames.size());
  entry_.videos += static_cast<int64_t>(media.video_lengths.size());
  entry_.audios += static_cast<int64_t>(media.audios.size());
  return WriteIndex();
}

absl::StatusOr<MediaEntry> MediaWriter::Finish() {
  if (!index_.is_open()) ZEN_RETURN_IF_ERROR(Open());
  ZEN_ASSIGN_OR_RETURN(entry_.images_file, images_.Close());
  ZEN_ASSIGN_OR_RETURN(entry_.frames_file, frames_.Close());
  ZEN_ASSIGN_OR_RETURN(entry_.audios_file, audios_.Close());
  ZEN_ASSIGN_OR_RETURN(entry_.index_file, index_.Close());
  entry_.shape = shape_.ToJson();
  return entry_;
}

}  // namespace zen
