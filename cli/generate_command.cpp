// `zen generate RECIPE [OVERRIDE...] --prompt TEXT | --input FILE [--chat] [--max-new-tokens N]
//  [--temperature T] [--top-k K] [--top-p P] [--seed S]`: continues prompts with the recipe's model
// (trainer/recipe_model.h), in one process. --prompt streams the completion to stdout as it is generated;
// --input reads JSON lines {"prompt": "..."} or {"messages": [...]} and writes one line
// {"prompt", "completion", "ids"} per record. Every prompt is read and checked before the model loads.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"        // defines: LoadRecipe
#include "data/chat/chat_template.h"   // defines: ChatPrompt, ChatTurnsFromJson
#include "data/tokenizer/tokenizer.h"  // defines: OpenTokenizer
#include "models/generation.h"         // defines: Generate, GenerateOptions
#include "trainer/recipe_model.h"      // defines: LoadRecipeModel

namespace zen {
namespace {

struct Prompt {
  std::string where;  // for messages: "--prompt" or "FILE:LINE"
  std::string text;   // as the model sees it (after the chat template)
  std::vector<int64_t> ids;
};

absl::StatusOr<GenerateOptions> ParseOptions(const RecipeArgs& args) {
  GenerateOptions o;
  for (const auto& [flag, value] : args.flags) {
    bool ok = true;
    if (flag == "--max-new-tokens") ok = absl::SimpleAtoi(value, &o.max_new_tokens) && o.max_new_tokens > 0;
    if (flag == "--temperature") ok = absl::SimpleAtod(value, &o.temperature) && o.temperature >= 0;
    if (flag == "--top-k") ok = absl::SimpleAtoi(value, &o.top_k) && o.top_k >= 0;
    if (flag == "--top-p") ok = absl::SimpleAtod(value, &o.top_p) && o.top_p > 0 && o.top_p <= 1;
    if (flag == "--seed") ok = absl::SimpleAtoi(value, &o.seed);
    if (!ok) {
      return BadInput(absl::StrCat(flag, ": \"", value, "\" is not valid (--max-new-tokens: a positive integer; ",
                                   "--temperature: >= 0; --top-k: >= 0; --top-p: in (0, 1]; --seed: an integer)"));
    }
  }
  return o;
}

// Tokenizes `text` and checks it fits the model: non-empty, ids inside the vocabulary, shorter than
// model.max_position (when set).
absl::StatusOr<Prompt> MakePrompt(std::string where, std::string text, const Tokenizer& tokenizer,
                                  const ModelSpec& spec) {
  Prompt p{std::move(where), std::move(text), {}};
  for (int32_t id : tokenizer.Encode(p.text)) p.ids.push_back(id);
  if (p.ids.empty()) return BadInput(p.where + ": empty prompt");
  for (int64_t id : p.ids) {
    if (id >= spec.vocab) {
      return BadInput(absl::StrCat(p.where, ": token id ", id, " is outside the model's vocabulary (model.vocab ",
                                   spec.vocab, "): the tokenizer does not fit the model"));
    }
  }
  const int64_t n = static_cast<int64_t>(p.ids.size());
  if (spec.max_position > 0 && n >= spec.max_position) {
    return BadInput(absl::StrCat(p.where, ": the prompt's ", n, " tokens leave no room under model.max_position (",
                                 spec.max_position, ")"));
  }
  return p;
}

std::string UserTurn(const Tokenizer& tokenizer, const std::string& text) {
  return ChatPrompt(tokenizer, {ChatTurn{"user", text}});
}

// One line of --input: {"prompt": "..."} (in the chat template with --chat) or {"messages": [...]}.
absl::StatusOr<Prompt> PromptOfLine(const std::string& line, const std::string& where, bool chat,
                                    const Tokenizer& tokenizer, const ModelSpec& spec) {
  const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return BadInput(where + ": not valid JSON");
  if (json.is_object() && json.contains("prompt") && json["prompt"].is_string()) {
    const std::string text = json["prompt"].get<std::string>();
    return MakePrompt(where, chat ? UserTurn(tokenizer, text) : text, tokenizer, spec);
  }
  if (json.is_object() && json.contains("messages")) {
    absl::StatusOr<std::vector<ChatTurn>> turns = ChatTurnsFromJson(json);
    if (!turns.ok()) return BadInput(absl::StrCat(where, ": ", turns.status().message()));
    return MakePrompt(where, ChatPrompt(tokenizer, *turns), tokenizer, spec);
  }
  return BadInput(where + ": expected {\"prompt\": \"...\"} or {\"messages\": [...]}");
}

absl::StatusOr<std::vector<Prompt>> ReadPrompts(const RecipeArgs& args, const Tokenizer& tokenizer,
                                                const ModelSpec& spec) {
  std::string prompt, input;
  for (const auto& [flag, value] : args.flags) {
    if (flag == "--prompt") prompt = value;
    if (flag == "--input") input = value;
  }
  if (args.Has("--prompt") == args.Has("--input")) return BadInput("expected one of --prompt TEXT or --input FILE");
  const bool chat = args.Has("--chat");
  std::vector<Prompt> prompts;
  if (args.Has("--prompt")) {
    ZEN_ASSIGN_OR_RETURN(Prompt p, MakePrompt("--prompt", chat ? UserTurn(tokenizer, prompt) : prompt, tokenizer, spec));
    prompts.push_back(std::move(p));
    return prompts;
  }
  std::ifstream in(input);
  if (!in) return BadInput(absl::StrCat("--input: cannot read ", input));
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ZEN_ASSIGN_OR_RETURN(Prompt p, PromptOfLine(line, absl::StrCat(input, ":", number), chat, tokenizer, spec));
    prompts.push_back(std::move(p));
  }
  if (prompts.empty()) return BadInput(absl::StrCat("--input: ", input, " holds no prompts"));
  return prompts;
}

// Bytes at the end of `text` that start a UTF-8 character not yet complete.
size_t IncompleteTail(const std::string& text) {
  for (size_t back = 1; back <= std::min<size_t>(3, text.size()); ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

// The completion's text as its ids come (stop ids left out); with `echo`, prints what is new to stdout
// at once, holding back a split UTF-8 character.
class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, const std::vector<int64_t>& stop_ids, bool echo)
      : tokenizer_(tokenizer), stop_ids_(stop_ids), echo_(echo) {}
  void Add(int64_t id) {
    if (std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) return;
    ids_.push_back(static_cast<int32_t>(id));
    if (!echo_) return;
    const std::string text = tokenizer_.Decode(ids_);
    const size_t ready = text.size() - IncompleteTail(text);
    if (ready > printed_) std::fwrite(text.data() + printed_, 1, ready - printed_, stdout);
    printed_ = std::max(printed_, ready);
    std::fflush(stdout);
  }
  std::string Text() const { return tokenizer_.Decode(ids_); }

 private:
  const Tokenizer& tokenizer_;
  const std::vector<int64_t>& stop_ids_;
  bool echo_;
  std::vector<int32_t> ids_;
  size_t printed_ = 0;
};

absl::Status Run(const RecipeArgs& args) {
  ZEN_ASSIGN_OR_RETURN(GenerateOptions options, ParseOptions(args));
  ZEN_ASSIGN_OR_RETURN(const LoadedRecipe loaded, LoadRecipe(args.recipe, args.overrides));
  const Recipe& recipe = loaded.recipe;
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, OpenTokenizer(recipe.tokenizer.path));
  ZEN_ASSIGN_OR_RETURN(const std::vector<Prompt> prompts, ReadPrompts(args, *tokenizer, recipe.model));
  for (const char* stop : {"<|im_end|>", "<|endoftext|>"}) {
    if (tokenizer->TokenId(stop) >= 0) options.stop_ids.push_back(tokenizer->TokenId(stop));
  }
  if (recipe.train.threads > 0) torch::set_num_threads(static_cast<int>(recipe.train.threads));
  ZEN_ASSIGN_OR_RETURN(RecipeModel model, LoadRecipeModel(recipe));
  if (recipe.train.device == "cuda") model.model->to(torch::kCUDA);
  Log0(absl::StrCat("zen generate: ", recipe.model.name, " from ", model.source));
  const bool stream = args.Has("--prompt");
  for (const Prompt& prompt : prompts) {
    TextStream text(*tokenizer, options.stop_ids, /*echo=*/stream);
    const std::vector<int64_t> ids = Generate(model.model, prompt.ids, options, [&](int64_t id) { text.Add(id); });
    if (stream) {
      std::fputs("\n", stdout);
      continue;
    }
    const nlohmann::json line = {{"prompt", prompt.text}, {"completion", text.Text()}, {"ids", ids}};
    // A model may emit bytes that are not UTF-8 (the ids are exact): JSON gets U+FFFD for them.
    std::fputs((line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(), stdout);
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

}  // namespace

int GenerateCommand(const Args& args) {
  auto parsed = ParseRecipeArgs(args, {"--chat"},
                                {"--prompt", "--input", "--max-new-tokens", "--temperature", "--top-k", "--top-p", "--seed"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  return ExitCode(Run(*parsed));
}

}  // namespace zen
