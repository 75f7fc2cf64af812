// ParquetRows over Apache Arrow's Parquet reader. Compiled as C++20 (Arrow's headers need it); only
// this file sees Arrow types.
#include <algorithm>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/schema.h>

#include "data/parquet/parquet_rows.h"

namespace zen {
namespace {

using Json = nlohmann::ordered_json;

absl::Status FromArrow(const arrow::Status& s, const std::string& path) {
  if (s.ok()) return absl::OkStatus();
  return BadInput(absl::StrCat(path, ": ", s.message()));
}

template <typename T>
Json Number(const arrow::Array& a, int64_t i) {
  return static_cast<const arrow::NumericArray<T>&>(a).Value(i);
}

template <typename ListType>
absl::StatusOr<Json> ListJson(const arrow::Array& a, int64_t i);
absl::StatusOr<Json> StructJson(const arrow::StructArray& a, int64_t i);

// Element i of `a` as JSON; a type JSON has no counterpart for is an error naming it.
absl::StatusOr<Json> ValueJson(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return Json(nullptr);
  switch (a.type_id()) {
    case arrow::Type::STRING: return Json(std::string(static_cast<const arrow::StringArray&>(a).GetView(i)));
    case arrow::Type::LARGE_STRING: return Json(std::string(static_cast<const arrow::LargeStringArray&>(a).GetView(i)));
    case arrow::Type::STRING_VIEW: return Json(std::string(static_cast<const arrow::StringViewArray&>(a).GetView(i)));
    case arrow::Type::BOOL: return Json(static_cast<const arrow::BooleanArray&>(a).Value(i));
    case arrow::Type::INT8: return Number<arrow::Int8Type>(a, i);
    case arrow::Type::INT16: return Number<arrow::Int16Type>(a, i);
    case arrow::Type::INT32: return Number<arrow::Int32Type>(a, i);
    case arrow::Type::INT64: return Number<arrow::Int64Type>(a, i);
    case arrow::Type::UINT8: return Number<arrow::UInt8Type>(a, i);
    case arrow::Type::UINT16: return Number<arrow::UInt16Type>(a, i);
    case arrow::Type::UINT32: return Number<arrow::UInt32Type>(a, i);
    case arrow::Type::UINT64: return Number<arrow::UInt64Type>(a, i);
    case arrow::Type::FLOAT: return Number<arrow::FloatType>(a, i);
    case arrow::Type::DOUBLE: return Number<arrow::DoubleType>(a, i);
    case arrow::Type::LIST: return ListJson<arrow::ListArray>(a, i);
    case arrow::Type::LARGE_LIST: return ListJson<arrow::LargeListArray>(a, i);
    case arrow::Type::FIXED_SIZE_LIST: return ListJson<arrow::FixedSizeListArray>(a, i);
    case arrow::Type::STRUCT: return StructJson(static_cast<const arrow::StructArray&>(a), i);
    case arrow::Type::DICTIONARY: {
      const auto& d = static_cast<const arrow::DictionaryArray&>(a);
      return ValueJson(*d.dictionary(), d.GetValueIndex(i));
    }
    default: return BadInput(absl::StrCat("a value of type ", a.type()->ToString(), ", which JSON records cannot hold"));
  }
}

template <typename ListType>
absl::StatusOr<Json> ListJson(const arrow::Array& a, int64_t i) {
  const auto& list = static_cast<const ListType&>(a);
  Json out = Json::array();
  const int64_t begin = list.value_offset(i), end = begin + list.value_length(i);
  for (int64_t k = begin; k < end; ++k) {
    ZEN_ASSIGN_OR_RETURN(Json v, ValueJson(*list.values(), k));
    out.push_back(std::move(v));
  }
  return out;
}

// A struct's fields by name; null fields are left out, as a JSON record would omit them (Hugging Face
// datasets give every message every key of any message, null where it has none).
absl::StatusOr<Json> StructJson(const arrow::StructArray& a, int64_t i) {
  Json out = Json::object();
  for (int f = 0; f < a.num_fields(); ++f) {
    ZEN_ASSIGN_OR_RETURN(Json v, ValueJson(*a.field(f), i));
    if (!v.is_null()) out[a.type()->field(f)->name()] = std::move(v);
  }
  return out;
}

class ArrowParquetRows : public ParquetRows {
 public:
  ArrowParquetRows(std::string path, std::unique_ptr<parquet::arrow::FileReader> reader,
                   std::shared_ptr<arrow::Schema> schema)
      : path_(std::move(path)), reader_(std::move(reader)), schema_(std::move(schema)) {
    for (const auto& field : schema_->fields()) columns_.push_back(field->name());
  }

  const std::vector<std::string>& Columns() const override { return columns_; }

  absl::Status Select(const std::vector<std::string>& columns) override {
    // The reader selects Parquet's leaf columns: every leaf under a chosen top-level column (a list of
    // structs has one leaf per struct field).
    const parquet::SchemaDescriptor* leaves_schema = reader_->parquet_reader()->metadata()->schema();
    std::vector<int> leaves;
    for (int leaf = 0; leaf < leaves_schema->num_columns(); ++leaf) {
      const std::string& root = leaves_schema->GetColumnRoot(leaf)->name();
      if (std::find(columns.begin(), columns.end(), root) != columns.end()) leaves.push_back(leaf);
    }
    std::vector<int> row_groups(reader_->num_row_groups());
    for (size_t g = 0; g < row_groups.size(); ++g) row_groups[g] = static_cast<int>(g);
    arrow::Result<std::unique_ptr<arrow::RecordBatchReader>> batches = reader_->GetRecordBatchReader(row_groups, leaves);
    if (!batches.ok()) return FromArrow(batches.status(), path_);
    batches_ = std::move(*batches);
    batch_.reset();
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next(Json* row) override {
    while (!batch_ || at_ == batch_->num_rows()) {
      if (!batches_) ZEN_RETURN_IF_ERROR(Select(columns_));
      ZEN_RETURN_IF_ERROR(FromArrow(batches_->ReadNext(&batch_), path_));
      at_ = 0;
      if (!batch_) return false;
    }
    *row = Json::object();
    for (int c = 0; c < batch_->num_columns(); ++c) {
      absl::StatusOr<Json> v = ValueJson(*batch_->column(c), at_);
      if (!v.ok()) return BadInput(absl::StrCat(batch_->column_name(c), ": ", v.status().message()));
      if (!v->is_null()) (*row)[batch_->column_name(c)] = *std::move(v);
    }
    ++at_;
    return true;
  }

 private:
  std::string path_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::string> columns_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  std::shared_ptr<arrow::RecordBatch> batch_;
  int64_t at_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ParquetRows>> ParquetRows::Open(const std::string& path) {
  arrow::Result<std::shared_ptr<arrow::io::ReadableFile>> file = arrow::io::ReadableFile::Open(path);
  if (!file.ok()) return FromArrow(file.status(), path);
  // Arrow reports a file that is not Parquet by exception from its metadata parser, or as a Status.
  try {
    arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> reader =
        parquet::arrow::OpenFile(*file, arrow::default_memory_pool());
    if (!reader.ok()) return FromArrow(reader.status(), path);
    std::shared_ptr<arrow::Schema> schema;
    ZEN_RETURN_IF_ERROR(FromArrow((*reader)->GetSchema(&schema), path));
    return std::unique_ptr<ParquetRows>(std::make_unique<ArrowParquetRows>(path, *std::move(reader), schema));
  } catch (const parquet::ParquetException& e) {
    return BadInput(absl::StrCat(path, ": not a readable Parquet file (", e.what(), ")"));
  }
}

bool ParquetSupported() { return true; }

}  // namespace zen
