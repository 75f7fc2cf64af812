// `zen tokenize --tokenizer PATH|bytes`: JSON lines {"text": "..."} on stdin -> {"ids": [...]} on stdout.
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

// The text of one input line, or an error naming the line.
absl::StatusOr<std::string> TextOfLine(const std::string& line, int64_t line_number) {
  const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const std::string where = absl::StrCat("stdin:", line_number, ": ");
  if (json.is_discarded()) return BadInput(where + "not valid JSON");
  if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) {
    return BadInput(where + "expected an object {\"text\": \"...\"}");
  }
  return json["text"].get<std::string>();
}

void WriteIds(const std::vector<int32_t>& ids, std::string* out) {
  out->clear();
  out->append("{\"ids\": [");
  for (size_t k = 0; k < ids.size(); ++k) absl::StrAppend(out, k ? ", " : "", ids[k]);
  out->append("]}\n");
}

absl::Status Tokenize(const std::string& tokenizer_path) {
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, OpenTokenizer(tokenizer_path));
  std::ios::sync_with_stdio(false);
  std::string line, out;
  for (int64_t line_number = 1; std::getline(std::cin, line); ++line_number) {
    ZEN_ASSIGN_OR_RETURN(const std::string text, TextOfLine(line, line_number));
    WriteIds(tokenizer->Encode(text), &out);
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return absl::OkStatus();
}

}  // namespace

int TokenizeCommand(const Args& args) {
  auto flags = ParseFlags(args, /*switches=*/{}, /*single=*/{"--tokenizer"}, /*multi=*/{});
  if (!flags.ok()) return ExitCode(flags.status());
  if (!flags->Has("--tokenizer")) return ExitCode(BadInput("--tokenizer: expected a tokenizer.json path or \"bytes\""));
  const absl::Status status = Tokenize(flags->Get("--tokenizer"));
  std::fflush(stdout);
  return ExitCode(status);
}

}  // namespace zen
