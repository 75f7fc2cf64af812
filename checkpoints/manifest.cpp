#include "checkpoints/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "checkpoint_manifest.pb.h"  // (generated) defines: zen::checkpoint::Manifest

namespace zen {
namespace {

namespace pb = ::zen::checkpoint;

pb::Manifest ToProto(const CheckpointManifest& m) {
  pb::Manifest p;
  p.set_format(m.format);
  p.set_step(m.step);
  p.set_tokens(m.tokens);
  p.set_skipped_steps(m.skipped_steps);
  pb::Layout* l = p.mutable_layout();
  l->set_world(m.layout.world), l->set_tp(m.layout.tp), l->set_pp(m.layout.pp);
  l->set_dp(m.layout.dp), l->set_ep(m.layout.ep), l->set_zero(m.layout.zero);
  p.set_model_fingerprint(m.model_fingerprint);
  p.set_recipe(m.recipe);
  for (const CheckpointFile& f : m.files) {
    pb::ShardFile* out = p.add_files();
    out->set_name(f.name), out->set_rank(f.rank), out->set_bytes(f.bytes), out->set_sha256(f.sha256);
  }
  for (const CheckpointSlice& s : m.slices) {
    pb::Slice* out = p.add_slices();
    out->set_name(s.name);
    for (int64_t d : s.global_shape) out->add_global_shape(d);
    out->set_split_dim(s.split_dim), out->set_offset(s.offset), out->set_file(s.file);
    out->set_dtype(s.dtype), out->set_bytes(s.bytes);
  }
  for (const BaseFile& b : m.base_files) {
    pb::BaseFile* out = p.add_base_files();
    out->set_name(b.name), out->set_bytes(b.bytes);
    out->set_header_sha256(b.header_sha256), out->set_sample_sha256(b.sample_sha256);
  }
  p.set_bytes(m.bytes);
  return p;
}

CheckpointManifest FromProto(const pb::Manifest& p) {
  CheckpointManifest m;
  m.format = p.format();
  m.step = p.step(), m.tokens = p.tokens(), m.skipped_steps = p.skipped_steps();
  const pb::Layout& l = p.layout();
  m.layout = {l.world(), l.tp(), l.pp(), l.dp(), l.ep(), l.zero()};
  m.model_fingerprint = p.model_fingerprint();
  m.recipe = p.recipe();
  for (const pb::ShardFile& f : p.files()) m.files.push_back({f.name(), f.rank(), f.bytes(), f.sha256()});
  for (const pb::Slice& s : p.slices()) {
    m.slices.push_back({s.name(), {s.global_shape().begin(), s.global_shape().end()}, s.split_dim(), s.offset(),
                        s.file(), s.dtype(), s.bytes()});
  }
  for (const pb::BaseFile& b : p.base_files()) {
    m.base_files.push_back({b.name(), b.bytes(), b.header_sha256(), b.sample_sha256()});
  }
  m.bytes = p.bytes();
  return m;
}

// The file is the serialised Manifest, then its length (8 bytes, little-endian) and this magic, so a
// truncated or partly written manifest is recognised (protobuf alone would parse a prefix).
constexpr char kTrailerMagic[8] = {'Z', 'E', 'N', 'C', 'K', 'P', 'T', '1'};

std::string Trailer(uint64_t length) {
  std::string t(reinterpret_cast<const char*>(&length), 8);  // little-endian hosts only (as the shards)
  return t + std::string(kTrailerMagic, 8);
}

}  // namespace

absl::Status WriteCheckpointManifest(const std::string& path, const CheckpointManifest& manifest) {
  std::string bytes;
  if (!ToProto(manifest).SerializeToString(&bytes)) return absl::InternalError("cannot serialise the manifest");
  bytes += Trailer(bytes.size());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": cannot create"));
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return absl::InternalError(absl::StrCat(path, ": write failed (disk full?)"));
  return absl::OkStatus();
}

absl::StatusOr<CheckpointManifest> ReadCheckpointManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": no checkpoint manifest"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  const bool whole = bytes.size() >= 16 && bytes.compare(bytes.size() - 16, 16, Trailer(bytes.size() - 16)) == 0;
  pb::Manifest p;
  if (!whole || !p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size() - 16)) || p.format() != "zen-checkpoint-1") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a zen checkpoint manifest (truncated or corrupt?)"));
  }
  return FromProto(p);
}

}  // namespace zen
