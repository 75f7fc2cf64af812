// Reading a tokenizer.json: checks that every stage is one BpeTokenizer implements, then builds it.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/common/sha256.h"
#include "data/tokenizer/bpe_tokenizer.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/pretokenizer.h"

namespace zen {
namespace {

using Json = nlohmann::json;

// `json[key]` as a string, "" when absent or null.
std::string StringAt(const Json& json, const char* key) {
  auto it = json.find(key);
  return it == json.end() || !it->is_string() ? "" : it->get<std::string>();
}

bool TrueAt(const Json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_boolean() && it->get<bool>();
}

absl::StatusOr<bool> CheckNormalizer(const Json& root) {
  const Json& n = root.value("normalizer", Json());
  if (n.is_null()) return false;
  if (StringAt(n, "type") == "NFC") return true;
  return BadInput(absl::StrCat("normalizer: only NFC (or none) is supported, got ", n.dump()));
}

// The pre-tokenizer must be Qwen's: Split(its regex, Isolated) then ByteLevel without its own regex.
absl::Status CheckPreTokenizer(const Json& root) {
  const Json& p = root.value("pre_tokenizer", Json());
  const std::string expected = "Sequence[Split(Qwen regex, Isolated), ByteLevel(use_regex=false)]";
  if (StringAt(p, "type") != "Sequence" || !p.contains("pretokenizers") || p["pretokenizers"].size() != 2) {
    return BadInput(absl::StrCat("pre_tokenizer: expected ", expected, ", got ", p.dump().substr(0, 200)));
  }
  const Json& split = p["pretokenizers"][0];
  const Json& byte_level = p["pretokenizers"][1];
  const std::string pattern = split.contains("pattern") ? StringAt(split["pattern"], "Regex") : "";
  if (StringAt(split, "type") != "Split" || pattern != kQwenSplitPattern ||
      StringAt(split, "behavior") != "Isolated" || TrueAt(split, "invert")) {
    return BadInput(absl::StrCat("pre_tokenizer: only the Qwen2/Qwen3 Split pattern is implemented (",
                                 std::string(kQwenSplitPattern), "); got ", split.dump().substr(0, 300)));
  }
  if (StringAt(byte_level, "type") != "ByteLevel" || TrueAt(byte_level, "add_prefix_space") ||
      TrueAt(byte_level, "use_regex")) {
    return BadInput(absl::StrCat("pre_tokenizer: expected ", expected, ", got ", byte_level.dump()));
  }
  return absl::OkStatus();
}

absl::Status CheckModel(const Json& model) {
  if (StringAt(model, "type") != "BPE") return BadInput("model.type: only BPE is supported");
  if (!model.value("dropout", Json()).is_null()) return BadInput("model.dropout: BPE dropout is not supported");
  if (TrueAt(model, "byte_fallback") || TrueAt(model, "ignore_merges") ||
      !StringAt(model, "continuing_subword_prefix").empty() || !StringAt(model, "end_of_word_suffix").empty()) {
    return BadInput("model: byte_fallback, ignore_merges and subword prefixes/suffixes are not supported");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object() || !model.contains("merges")) {
    return BadInput("model: expected a vocab object and a merges list");
  }
  return absl::OkStatus();
}

absl::StatusOr<BpeModel> BuildModel(const Json& model) {
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve(model["vocab"].size());
  for (const auto& [spelling, id] : model["vocab"].items()) {
    std::optional<std::string> bytes = ByteLevelToBytes(spelling);
    if (!id.is_number_integer()) return BadInput(absl::StrCat("model.vocab: \"", spelling, "\": id is not an integer"));
    if (!bytes) return BadInput(absl::StrCat("model.vocab: \"", spelling, "\" is not byte-level"));
    vocab.emplace_back(std::move(*bytes), id.get<int32_t>());
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(model["merges"].size());
  for (const Json& m : model["merges"]) {
    std::string left, right;
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["Ġ", "t"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else if (m.is_string() && m.get<std::string>().find(' ') != std::string::npos) {  // "Ġ t" (older files)
      const std::string s = m.get<std::string>();
      left = s.substr(0, s.find(' '));
      right = s.substr(s.find(' ') + 1);
    } else {
      return BadInput(absl::StrCat("model.merges: unexpected entry ", m.dump()));
    }
    std::optional<std::string> l = ByteLevelToBytes(left), r = ByteLevelToBytes(right);
    if (!l || !r) return BadInput(absl::StrCat("model.merges: ", m.dump(), " is not byte-level"));
    merges.emplace_back(std::move(*l), std::move(*r));
  }
  return BpeModel::Build(std::move(vocab), merges);
}

absl::StatusOr<AddedTokens> ReadAddedTokens(const Json& root) {
  AddedTokens added;
  for (const Json& t : root.value("added_tokens", Json::array())) {
    const std::string content = StringAt(t, "content");
    if (content.empty() || !t.contains("id") || !t["id"].is_number_integer()) return BadInput(absl::StrCat("added_tokens: bad entry ", t.dump()));
    if (TrueAt(t, "lstrip") || TrueAt(t, "rstrip") || TrueAt(t, "single_word")) {
      return BadInput(absl::StrCat("added_tokens: ", content, ": lstrip, rstrip and single_word are not supported"));
    }
    added.Add(content, t["id"].get<int32_t>());
  }
  return added;
}

struct Parts {
  BpeModel model;
  AddedTokens added;
  bool nfc = false;
};

absl::StatusOr<Parts> ReadParts(const Json& root) {
  Parts parts;
  ZEN_ASSIGN_OR_RETURN(parts.nfc, CheckNormalizer(root));
  ZEN_RETURN_IF_ERROR(CheckPreTokenizer(root));
  if (!root.contains("model")) return BadInput("no model");
  ZEN_RETURN_IF_ERROR(CheckModel(root["model"]));
  ZEN_ASSIGN_OR_RETURN(parts.model, BuildModel(root["model"]));
  ZEN_ASSIGN_OR_RETURN(parts.added, ReadAddedTokens(root));
  return parts;
}

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::Load(const std::string& tokenizer_json_path) {
  std::ifstream in(tokenizer_json_path, std::ios::binary);
  if (!in) return BadInput(absl::StrCat(tokenizer_json_path, ": cannot open the tokenizer"));
  std::stringstream contents;
  contents << in.rdbuf();
  const std::string text = contents.str();
  const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return BadInput(absl::StrCat(tokenizer_json_path, ": not a JSON object"));
  absl::StatusOr<Parts> parts = ReadParts(root);
  if (!parts.ok()) return Annotate(parts.status(), tokenizer_json_path);
  return BpeTokenizer(std::move(parts->model), std::move(parts->added), parts->nfc,
                      absl::StrCat("sha256:", Sha256Hex(text)));
}

}  // namespace zen
