#include "checkpoints/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "core/status.h"  // defines: BadInput, ZEN_ASSIGN_OR_RETURN

namespace zen {
namespace {

using nlohmann::json;

const std::vector<std::pair<std::string, torch::ScalarType>>& DtypeNames() {
  // clang-format off
  static const std::vector<std::pair<std::string, torch::ScalarType>> names = {
      {"F64", torch::kFloat64},  {"F32", torch::kFloat32},          {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16}, {"F8_E4M3", torch::kFloat8_e4m3fn}, {"F8_E5M2", torch::kFloat8_e5m2},
      {"I64", torch::kInt64},    {"I32", torch::kInt32},            {"I16", torch::kInt16},
      {"I8", torch::kInt8},      {"U8", torch::kUInt8},             {"BOOL", torch::kBool},
  };
  // clang-format on
  return names;
}

const std::string* DtypeName(torch::ScalarType type) {
  for (const auto& [name, t] : DtypeNames()) {
    if (t == type) return &name;
  }
  return nullptr;
}

const torch::ScalarType* DtypeOf(const std::string& name) {
  for (const auto& [n, t] : DtypeNames()) {
    if (n == name) return &t;
  }
  return nullptr;
}

// A read-only file mapped copy-on-write; unmapped when the last tensor viewing it goes.
struct Mapping {
  uint8_t* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data != nullptr) munmap(data, size);
  }
};

absl::StatusOr<std::shared_ptr<Mapping>> MapFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  struct stat st {};
  auto mapping = std::make_shared<Mapping>();
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    void* p = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      mapping->data = static_cast<uint8_t*>(p);
      mapping->size = static_cast<size_t>(st.st_size);
    }
  }
  const int err = errno;
  close(fd);
  if (st.st_size > 0 && mapping->data == nullptr) {
    return absl::ErrnoToStatus(err, absl::StrCat(path, ": cannot map"));
  }
  return mapping;
}

absl::StatusOr<int64_t> NonNegative(const json& v, const std::string& what) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    return BadInput(absl::StrCat(what, ": expected a non-negative integer, got ", v.dump()));
  }
  return v.get<int64_t>();
}

// One header entry -> a tensor viewing `data` (the bytes after the header), or an error naming it.
absl::StatusOr<torch::Tensor> ParseEntry(const std::string& name, const json& entry,
                                         const std::shared_ptr<Mapping>& mapping, const uint8_t* data,
                                         int64_t data_size) {
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
      !entry.contains("data_offsets")) {
    return BadInput(absl::StrCat("tensor '", name, "': wants dtype, shape and data_offsets"));
  }
  const json& dtype = entry["dtype"];
  const torch::ScalarType* type = dtype.is_string() ? DtypeOf(dtype.get<std::string>()) : nullptr;
  if (type == nullptr) return BadInput(absl::StrCat("tensor '", name, "': unsupported dtype ", dtype.dump()));
  const json& shape_json = entry["shape"];
  const json& offsets = entry["data_offsets"];
  if (!shape_json.is_array() || !offsets.is_array() || offsets.size() != 2) {
    return BadInput(absl::StrCat("tensor '", name, "': shape must be a list and data_offsets [begin, end]"));
  }
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (const json& d : shape_json) {
    ZEN_ASSIGN_OR_RETURN(int64_t n, NonNegative(d, absl::StrCat("tensor '", name, "' shape")));
    shape.push_back(n);
    numel *= n;
  }
  ZEN_ASSIGN_OR_RETURN(int64_t begin, NonNegative(offsets[0], absl::StrCat("tensor '", name, "' offsets")));
  ZEN_ASSIGN_OR_RETURN(int64_t end, NonNegative(offsets[1], absl::StrCat("tensor '", name, "' offsets")));
  const int64_t element = static_cast<int64_t>(c10::elementSize(*type));
  if (end > data_size) {
    return BadInput(absl::StrCat("truncated file: tensor '", name, "' ends at byte ", end,
                                 " of the data (data_offsets) but only ", data_size,
                                 " bytes follow the header"));
  }
  if (begin > end || end - begin != numel * element) {
    return BadInput(absl::StrCat("tensor '", name, "': data_offsets [", begin, ", ", end, ") do not hold ",
                                 numel, " x ", element, " bytes"));
  }
  auto options = torch::TensorOptions().dtype(*type);
  const uint8_t* p = data + begin;
  if (numel == 0) return torch::empty(shape, options);
  if (reinterpret_cast<uintptr_t>(p) % element != 0) {
    auto copy = torch::empty(shape, options);
    std::memcpy(copy.data_ptr(), p, end - begin);
    return copy;
  }
  return torch::from_blob(
      const_cast<uint8_t*>(p), shape, [mapping](void*) {}, options);
}

absl::StatusOr<SafetensorsContents> Parse(const std::shared_ptr<Mapping>& mapping) {
  const int64_t size = static_cast<int64_t>(mapping->size);
  if (size < 8)
    return BadInput(absl::StrCat("truncated file: ", size, " bytes, less than the 8-byte header length"));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | mapping->data[i];
  if (header_len > static_cast<uint64_t>(size - 8)) {
    return BadInput(absl::StrCat("truncated file: the header claims ", header_len, " bytes but only ",
                                 size - 8, " follow"));
  }
  const char* header = reinterpret_cast<const char*>(mapping->data + 8);
  const json root = json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return BadInput("bad header: not a JSON object");
  const uint8_t* data = mapping->data + 8 + header_len;
  const int64_t data_size = size - 8 - static_cast<int64_t>(header_len);
  SafetensorsContents contents;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return BadInput("bad header: __metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) return BadInput(absl::StrCat("bad header: __metadata__.", k, " is not a string"));
        contents.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    ZEN_ASSIGN_OR_RETURN(contents.tensors[key], ParseEntry(key, value, mapping, data, data_size));
  }
  return contents;
}

}  // namespace

absl::StatusOr<SafetensorsContents> ReadSafetensorsFile(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(std::shared_ptr<Mapping> mapping, MapFile(path));
  auto contents = Parse(mapping);
  if (!contents.ok()) return Annotate(contents.status(), path);
  return contents;
}

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensorsFile(path));
  return std::move(contents.tensors);
}

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;  // CPU, contiguous, in file order
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string* dtype = DtypeName(tensor.scalar_type());
    if (dtype == nullptr || name == "__metadata__" || header.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot store tensor '", name, "' (",
                                                     tensor.scalar_type(), ", duplicate or reserved name?)"));
    }
    blobs.push_back(tensor.detach().to(torch::kCPU).contiguous());
    const int64_t bytes = blobs.back().numel() * blobs.back().element_size();
    header[name] = {
        {"dtype", *dtype}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& blob : blobs) {
      out.write(static_cast<const char*>(blob.data_ptr()), blob.numel() * blob.element_size());
    }
    out.flush();
    if (!out) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot rename ", tmp, " into place"));
  }
  return absl::OkStatus();
}

}  // namespace zen
