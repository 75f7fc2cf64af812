// Rows of a Parquet file as JSON records, so `zen data prepare` reads them as it reads JSONL lines
// (data/prepare/record_reader.h). Read with Apache Arrow's Parquet reader (the C++ libraries of the pyarrow
// wheel in .venv; data/CMakeLists.txt), a row group at a time. This header is C++17 and names no Arrow
// type; its implementation is compiled as C++20, as Arrow's headers need.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace zen {

class ParquetRows {
 public:
  // Errors (a missing file, not Parquet) name the file and are BadInput. Without Arrow in the build, every
  // Open is BadInput saying how to enable it.
  static absl::StatusOr<std::unique_ptr<ParquetRows>> Open(const std::string& path);
  virtual ~ParquetRows() = default;

  // The file's top-level columns, in schema order.
  virtual const std::vector<std::string>& Columns() const = 0;
  // Reads only these columns (each one of Columns()) from here on.
  virtual absl::Status Select(const std::vector<std::string>& columns) = 0;
  // The next row as a JSON object of the selected columns: strings, numbers, booleans, lists as arrays,
  // structs and maps as objects; nulls are left out (as a JSONL record would omit the key). False at the end.
  // A value of a type JSON cannot hold is BadInput naming the column.
  virtual absl::StatusOr<bool> Next(nlohmann::ordered_json* row) = 0;
};

// Whether this build reads Parquet.
bool ParquetSupported();

}  // namespace zen
