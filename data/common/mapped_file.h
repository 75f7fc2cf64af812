// A read-only memory map of a whole file (POSIX mmap): shards are read in place, paged in on demand
// and shared between processes on a node.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace zen {

class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(const std::string& path);
  MappedFile() = default;  // maps nothing
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {data_, size_}; }
  template <typename T>
  const T* As() const { return reinterpret_cast<const T*>(data_); }  // mmap is page-aligned

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace zen
