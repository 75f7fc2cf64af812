#include "core/recipe_loader.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/recipe_schema.h"

namespace zen {
namespace fs = std::filesystem;

namespace {

absl::Status ApplyOverrides(ConfigTree& tree, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) ZEN_RETURN_IF_ERROR(tree.ApplyOverride(o));
  return absl::OkStatus();
}

// A model file holds only `model:` and `reference:` sections (configs/models/*.yaml).
absl::StatusOr<ConfigTree> LoadModelFile(const std::string& path, const std::string& referenced_from) {
  if (!fs::exists(path)) return BadInput(absl::StrCat(referenced_from, ": model.file: no such file ", path));
  ZEN_ASSIGN_OR_RETURN(ConfigTree tree, ConfigTree::FromFile(path));
  for (const auto& kv : tree.root()) {
    const std::string key = kv.first.Scalar();
    if (key != "model" && key != "reference") {
      return BadInput(absl::StrCat(tree.OriginOf(key), ": ", key,
                                   ": a model file holds only `model` and `reference` sections"));
    }
  }
  return tree;
}

}  // namespace

absl::StatusOr<ConfigTree> ModelTreeFromHfConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat(path, ": cannot read the Hugging Face config"));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadInput(absl::StrCat(path, ": not a JSON object"));
  if (j.contains("text_config") && j["text_config"].is_object()) j = j["text_config"];

  ConfigTree tree;
  auto copy = [&](const char* hf_key, const std::string& zen_key) {
    if (!j.contains(hf_key) || j[hf_key].is_null()) return;
    const nlohmann::json& v = j[hf_key];
    YAML::Node node;
    if (v.is_boolean()) node = v.get<bool>();
    else if (v.is_number_integer()) node = v.get<int64_t>();
    else if (v.is_number()) node = v.get<double>();
    else if (v.is_string()) node = v.get<std::string>();
    else return;
    tree.Set(zen_key, node, path);
  };
  copy("num_hidden_layers", "model.layers");
  copy("hidden_size", "model.hidden");
  copy("num_attention_heads", "model.heads");
  copy("num_key_value_heads", "model.kv_heads");
  copy("head_dim", "model.head_dim");
  copy("intermediate_size", "model.ffn");
  copy("vocab_size", "model.vocab");
  copy("max_position_embeddings", "model.max_position");
  copy("rope_theta", "model.rope_theta");
  copy("rms_norm_eps", "model.norm_eps");
  copy("tie_word_embeddings", "model.tie_embeddings");
  copy("num_experts", "model.experts");
  copy("num_local_experts", "model.experts");  // what transformers 5 writes for num_experts
  copy("num_experts_per_tok", "model.top_k");
  copy("moe_intermediate_size", "model.expert_ffn");
  copy("shared_expert_intermediate_size", "model.shared_ffn");
  copy("decoder_sparse_step", "model.moe_every");
  // transformers 5 moves rope_theta into rope_parameters.
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object() &&
      j["rope_parameters"].contains("rope_theta")) {
    tree.Set("model.rope_theta", YAML::Node(j["rope_parameters"]["rope_theta"].get<double>()), path);
  }
  if (j.value("use_sliding_window", false)) {
    // transformers windows the layers its layer_types marks (from max_window_layers on); none = no window.
    YAML::Node sliding(YAML::NodeType::Sequence);
    const nlohmann::json types = j.value("layer_types", nlohmann::json::array());
    for (size_t l = 0; l < types.size(); ++l) {
      if (types[l] == "sliding_attention") sliding.push_back(static_cast<int64_t>(l));
    }
    if (types.empty() || sliding.size() > 0) copy("sliding_window", "model.sliding_window");
    if (sliding.size() > 0) tree.Set("model.sliding_layers", sliding, path);
  }
  // A config without tie_word_embeddings means transformers' default for Qwen3: untied.
  if (!j.contains("tie_word_embeddings")) tree.Set("model.tie_embeddings", YAML::Node(false), path);
  return tree;
}

absl::StatusOr<LoadedRecipe> LoadRecipe(const std::string& path, const std::vector<std::string>& overrides) {
  ZEN_ASSIGN_OR_RETURN(ConfigTree recipe_tree, ConfigTree::FromFile(path));
  // Overrides may change model.file, so apply them before reading it (and again on the merged tree).
  ConfigTree peek = recipe_tree;
  ZEN_RETURN_IF_ERROR(ApplyOverrides(peek, overrides));

  ConfigTree merged;
  if (peek.Has("model.file")) {
    fs::path model_file = peek.Get("model.file").Scalar();
    if (model_file.is_relative()) model_file = fs::path(path).parent_path() / model_file;
    model_file = model_file.lexically_normal();
    ZEN_ASSIGN_OR_RETURN(merged, LoadModelFile(model_file.string(), peek.OriginOf("model.file")));
    recipe_tree.Set("model.file", YAML::Node(model_file.string()), peek.OriginOf("model.file"));
  }
  // A Hugging Face config (explicit, or the checkpoint folder's) replaces the model file's shapes.
  std::string hf_config = peek.Has("model.hf_config") ? peek.Get("model.hf_config").Scalar() : "";
  if (hf_config.empty() && peek.Has("model.checkpoint")) {
    const fs::path candidate = fs::path(peek.Get("model.checkpoint").Scalar()) / "config.json";
    if (fs::exists(candidate)) hf_config = candidate.string();
  }
  if (!hf_config.empty()) {
    ZEN_ASSIGN_OR_RETURN(ConfigTree hf_tree, ModelTreeFromHfConfig(hf_config));
    merged.Merge(hf_tree);
  }
  merged.Merge(recipe_tree);
  ZEN_RETURN_IF_ERROR(ApplyOverrides(merged, overrides));

  LoadedRecipe loaded{Recipe{}, merged};
  ZEN_RETURN_IF_ERROR(ReadRecipe(merged, loaded.recipe));
  loaded.recipe.path = path;
  // The demo task is tokenized by the built-in byte tokenizer whatever tokenizer.path says (data/demo_task.h):
  // that is the run's tokenizer, in config.resolved.yaml and for `zen generate` / `zen eval` on its model.
  if (loaded.recipe.data.source == "demo") loaded.recipe.tokenizer.path = "bytes";
  ZEN_RETURN_IF_ERROR(ValidateRecipe(loaded.recipe, merged));
  return loaded;
}

std::string ResolvedYaml(const Recipe& recipe) {
  YAML::Emitter out;
  out << RecipeToYaml(recipe);
  return std::string(out.c_str()) + "\n";
}

}  // namespace zen
