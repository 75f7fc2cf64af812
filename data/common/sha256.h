// SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA instructions) for manifests and tokenizer
// fingerprints; digests are lower-case hex.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace zen {

std::string Sha256Hex(std::string_view bytes);

// Streams the file; fails with the path in the message.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

// Incremental form, for data written in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // finishes; the object is then spent

 private:
  void* context_;  // EVP_MD_CTX
};

}  // namespace zen
