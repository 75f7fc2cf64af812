// ParquetRows in a build without Arrow/Parquet (pyarrow was not in .venv when CMake configured).
#include "data/parquet/parquet_rows.h"

namespace zen {

absl::StatusOr<std::unique_ptr<ParquetRows>> ParquetRows::Open(const std::string& path) {
  return BadInput(absl::StrCat(path, ": this zen was built without Parquet support; install pyarrow into .venv "
                               "(scripts/setup.sh does) and configure again (cmake -S . -B build), or convert the "
                               "file to JSONL"));
}

bool ParquetSupported() { return false; }

}  // namespace zen
