#include "core/recipe_schema.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "absl/strings/str_join.h"

// How a data.blend entry is written back (config.resolved.yaml): {path, weight}.
template <>
struct YAML::convert<zen::DataBlendEntry> {
  static Node encode(const zen::DataBlendEntry& entry) {
    Node node(NodeType::Map);
    node["path"] = entry.path;
    node["weight"] = entry.weight;
    return node;
  }
  static bool decode(const Node& node, zen::DataBlendEntry& entry) {
    if (!node.IsMap() || !node["path"]) return false;
    entry.path = node["path"].as<std::string>();
    entry.weight = node["weight"] ? node["weight"].as<double>() : 1.0;
    return true;
  }
};

namespace zen {
namespace {

// One recipe key: how to read it into a Recipe and how to write it back out.
struct Field {
  std::string key;
  std::function<absl::Status(const YAML::Node&, Recipe&)> read;
  std::function<YAML::Node(const Recipe&)> write;
};

std::string Quoted(const YAML::Node& node) {
  if (node.IsScalar()) return absl::StrCat("\"", node.Scalar(), "\"");
  return node.IsSequence() ? "a list" : "a mapping";
}

// Parses one scalar of type T; the message says what was expected.
template <typename T>
absl::StatusOr<T> ParseScalar(const YAML::Node& node);

template <>
absl::StatusOr<int64_t> ParseScalar<int64_t>(const YAML::Node& node) {
  int64_t v;
  if (node.IsScalar() && YAML::convert<int64_t>::decode(node, v)) return v;
  // Allow 1e3-style integers that YAML reads as floats, if they are whole.
  double d;
  if (node.IsScalar() && YAML::convert<double>::decode(node, d) && d == static_cast<double>(static_cast<int64_t>(d)) &&
      std::abs(d) < 9e18) {
    return static_cast<int64_t>(d);
  }
  return BadInput(absl::StrCat("expected an integer, got ", Quoted(node)));
}

template <>
absl::StatusOr<uint64_t> ParseScalar<uint64_t>(const YAML::Node& node) {
  uint64_t v;
  if (node.IsScalar() && node.Scalar()[0] != '-' && YAML::convert<uint64_t>::decode(node, v)) return v;
  return BadInput(absl::StrCat("expected a non-negative integer, got ", Quoted(node)));
}

template <>
absl::StatusOr<double> ParseScalar<double>(const YAML::Node& node) {
  double v;
  if (node.IsScalar() && YAML::convert<double>::decode(node, v)) return v;
  return BadInput(absl::StrCat("expected a number, got ", Quoted(node)));
}

template <>
absl::StatusOr<bool> ParseScalar<bool>(const YAML::Node& node) {
  bool v;
  if (node.IsScalar() && YAML::convert<bool>::decode(node, v)) return v;
  return BadInput(absl::StrCat("expected true or false, got ", Quoted(node)));
}

template <>
absl::StatusOr<std::string> ParseScalar<std::string>(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  return BadInput(absl::StrCat("expected a string, got ", Quoted(node)));
}

template <typename T>
absl::StatusOr<T> ParseValue(const YAML::Node& node) {
  return ParseScalar<T>(node);
}

template <>
absl::StatusOr<std::vector<std::string>> ParseValue<std::vector<std::string>>(const YAML::Node& node) {
  if (!node.IsSequence()) return BadInput(absl::StrCat("expected a list, got ", Quoted(node)));
  std::vector<std::string> out;
  for (const auto& item : node) {
    ZEN_ASSIGN_OR_RETURN(std::string s, ParseScalar<std::string>(item));
    out.push_back(s);
  }
  return out;
}

template <>
absl::StatusOr<std::vector<int64_t>> ParseValue<std::vector<int64_t>>(const YAML::Node& node) {
  if (!node.IsSequence()) return BadInput(absl::StrCat("expected a list of integers, got ", Quoted(node)));
  std::vector<int64_t> out;
  for (const auto& item : node) {
    ZEN_ASSIGN_OR_RETURN(int64_t v, ParseScalar<int64_t>(item));
    out.push_back(v);
  }
  return out;
}

// data.blend: a list of {path, weight} mappings; the message names the entry ("[1].weight: ...").
template <>
absl::StatusOr<std::vector<DataBlendEntry>> ParseValue<std::vector<DataBlendEntry>>(const YAML::Node& node) {
  if (!node.IsSequence()) return BadInput(absl::StrCat("expected a list of {path, weight}, got ", Quoted(node)));
  std::vector<DataBlendEntry> out;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string where = absl::StrCat("[", i, "]");
    if (!item.IsMap()) return BadInput(absl::StrCat(where, ": expected a mapping {path, weight}, got ", Quoted(item)));
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (key != "path" && key != "weight") return BadInput(absl::StrCat(where, ".", key, ": unknown key (path, weight)"));
    }
    DataBlendEntry entry;
    if (!item["path"]) return BadInput(absl::StrCat(where, ".path: missing"));
    absl::StatusOr<std::string> path = ParseScalar<std::string>(item["path"]);
    if (!path.ok()) return BadInput(absl::StrCat(where, ".path: ", path.status().message()));
    entry.path = *path;
    if (item["weight"]) {
      absl::StatusOr<double> weight = ParseScalar<double>(item["weight"]);
      if (!weight.ok()) return BadInput(absl::StrCat(where, ".weight: ", weight.status().message()));
      entry.weight = *weight;
    }
    out.push_back(entry);
  }
  return out;
}

template <typename T>
Field MakeField(std::string key, std::function<T&(Recipe&)> member) {
  Field f;
  f.key = key;
  f.read = [member](const YAML::Node& node, Recipe& r) -> absl::Status {
    ZEN_ASSIGN_OR_RETURN(member(r), ParseValue<T>(node));
    return absl::OkStatus();
  };
  f.write = [member](const Recipe& r) { return YAML::Node(member(const_cast<Recipe&>(r))); };
  return f;
}

// The key is the member's path in Recipe, so the schema and the structs cannot drift apart.
#define ZEN_FIELD(path) \
  MakeField<std::decay_t<decltype(std::declval<Recipe&>().path)>>(#path, [](Recipe& r) -> auto& { return r.path; })

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      ZEN_FIELD(output_dir),
      ZEN_FIELD(model.name), ZEN_FIELD(model.file), ZEN_FIELD(model.hf_config), ZEN_FIELD(model.checkpoint),
      ZEN_FIELD(model.adapter),
      ZEN_FIELD(model.layers), ZEN_FIELD(model.hidden), ZEN_FIELD(model.heads), ZEN_FIELD(model.kv_heads),
      ZEN_FIELD(model.head_dim), ZEN_FIELD(model.ffn), ZEN_FIELD(model.vocab), ZEN_FIELD(model.max_position),
      ZEN_FIELD(model.rope_theta), ZEN_FIELD(model.norm_eps), ZEN_FIELD(model.tie_embeddings),
      ZEN_FIELD(model.sliding_window), ZEN_FIELD(model.sliding_layers),
      ZEN_FIELD(model.experts), ZEN_FIELD(model.top_k), ZEN_FIELD(model.expert_ffn), ZEN_FIELD(model.shared_ffn),
      ZEN_FIELD(model.moe_every), ZEN_FIELD(model.router_temperature),
      ZEN_FIELD(model.mixers), ZEN_FIELD(model.linear_num_key_heads), ZEN_FIELD(model.linear_num_value_heads),
      ZEN_FIELD(model.linear_key_head_dim), ZEN_FIELD(model.linear_value_head_dim),
      ZEN_FIELD(model.linear_conv_kernel_dim), ZEN_FIELD(model.partial_rotary_factor),
      ZEN_FIELD(model.zero_centred_norms), ZEN_FIELD(model.shared_expert_gate),
      ZEN_FIELD(model.vision.layers), ZEN_FIELD(model.vision.hidden), ZEN_FIELD(model.vision.heads),
      ZEN_FIELD(model.vision.ffn), ZEN_FIELD(model.vision.patch), ZEN_FIELD(model.vision.image_size),
      ZEN_FIELD(model.vision.video_size), ZEN_FIELD(model.vision.video_frames), ZEN_FIELD(model.vision.merge),
      ZEN_FIELD(model.vision.frozen),
      ZEN_FIELD(model.audio.layers), ZEN_FIELD(model.audio.hidden), ZEN_FIELD(model.audio.heads),
      ZEN_FIELD(model.audio.ffn), ZEN_FIELD(model.audio.mel_bins), ZEN_FIELD(model.audio.chunk_frames),
      ZEN_FIELD(model.audio.pool), ZEN_FIELD(model.audio.frozen),
      ZEN_FIELD(model.cross_attn_every), ZEN_FIELD(model.image_token_id), ZEN_FIELD(model.video_token_id),
      ZEN_FIELD(model.audio_token_id),
      ZEN_FIELD(reference.params_total), ZEN_FIELD(reference.params_active), ZEN_FIELD(reference.trainable_pct),
      ZEN_FIELD(reference.memory_fp32_gb), ZEN_FIELD(reference.memory_fp16_gb),
      ZEN_FIELD(reference.memory_int8_gb), ZEN_FIELD(reference.memory_int4_gb),
      ZEN_FIELD(lora.rank), ZEN_FIELD(lora.alpha), ZEN_FIELD(lora.dropout), ZEN_FIELD(lora.targets),
      ZEN_FIELD(optim.lr), ZEN_FIELD(optim.min_lr_ratio), ZEN_FIELD(optim.warmup_steps),
      ZEN_FIELD(optim.weight_decay), ZEN_FIELD(optim.beta1), ZEN_FIELD(optim.beta2), ZEN_FIELD(optim.eps),
      ZEN_FIELD(optim.grad_clip),
      ZEN_FIELD(train.max_steps), ZEN_FIELD(train.seed), ZEN_FIELD(train.seq_len),
      ZEN_FIELD(train.micro_batch_size), ZEN_FIELD(train.global_batch_size), ZEN_FIELD(train.token_budget),
      ZEN_FIELD(train.epochs), ZEN_FIELD(train.dtype), ZEN_FIELD(train.param_dtype), ZEN_FIELD(train.max_bad_steps),
      ZEN_FIELD(train.log_interval), ZEN_FIELD(train.threads), ZEN_FIELD(train.resume), ZEN_FIELD(train.resume_from),
      ZEN_FIELD(train.device), ZEN_FIELD(train.recompute), ZEN_FIELD(train.recompute_layers),
      ZEN_FIELD(train.loss_chunk_tokens),
      ZEN_FIELD(data.source), ZEN_FIELD(data.path), ZEN_FIELD(data.block_causal), ZEN_FIELD(data.demo_examples), ZEN_FIELD(data.eval_fraction), ZEN_FIELD(eval.interval), ZEN_FIELD(eval.rows), ZEN_FIELD(eval.keep_best),
      ZEN_FIELD(data.prepare.inputs), ZEN_FIELD(data.prepare.format), ZEN_FIELD(data.prepare.loss_mask),
      ZEN_FIELD(data.prepare.fim_rate), ZEN_FIELD(data.prepare.seed), ZEN_FIELD(data.blend),
      ZEN_FIELD(tokenizer.path),
      ZEN_FIELD(parallel.tensor), ZEN_FIELD(parallel.pipeline), ZEN_FIELD(parallel.expert), ZEN_FIELD(parallel.sequence),
      ZEN_FIELD(parallel.schedule), ZEN_FIELD(parallel.stage_layers), ZEN_FIELD(parallel.timeout_s), ZEN_FIELD(parallel.zero),
      ZEN_FIELD(parallel.context),
      ZEN_FIELD(moe.aux_loss_coef), ZEN_FIELD(moe.z_loss_coef), ZEN_FIELD(moe.capacity_factor),
      ZEN_FIELD(moe.balance), ZEN_FIELD(moe.router_bias_update_rate),
      ZEN_FIELD(checkpoint.interval), ZEN_FIELD(checkpoint.keep), ZEN_FIELD(checkpoint.async),
  };
  return fields;
}
#undef ZEN_FIELD

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string DidYouMean(const std::string& key) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& known : RecipeKeys()) {
    const size_t d = EditDistance(key, known);
    if (d < best_distance) best_distance = d, best = known;
  }
  return best_distance <= 3 ? absl::StrCat(" (did you mean ", best, "?)") : "";
}

const Field* FindField(const std::string& key) {
  for (const Field& f : Fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& RecipeKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const Field& f : Fields()) k.push_back(f.key);
    return k;
  }();
  return keys;
}

const std::vector<std::string>& KnownLoraTargets() {
  static const std::vector<std::string> targets = {
      "q", "k", "v", "o", "gate", "up", "down",                          // dense Qwen3 linears
      "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
      "router", "experts.*.wi", "experts.*.wo", "wo", "experts.*.mlp", "shared",  // MoE (see docs/lora.md)
      "cross_attn",                                                       // Zen-Omni's cross-modal layers
      "in_proj_qkvz", "in_proj_ba", "out_proj", "shared_expert_gate",     // Qwen3-Next (docs/qwen3-next.md)
  };
  return targets;
}

absl::Status ReadRecipe(const ConfigTree& tree, Recipe& recipe) {
  for (const std::string& path : tree.LeafPaths()) {
    if (path == "lora" && tree.Get(path).IsNull()) continue;  // `lora: null` = full fine-tuning
    const Field* field = FindField(path);
    if (field == nullptr) {
      return BadInput(absl::StrCat(tree.OriginOf(path), ": ", path, ": unknown key", DidYouMean(path)));
    }
    const YAML::Node node = tree.Get(path);
    if (node.IsNull()) continue;  // `key: null` keeps the default
    absl::Status s = field->read(node, recipe);
    if (!s.ok()) return BadInput(absl::StrCat(tree.OriginOf(path), ": ", path, ": ", s.message()));
  }
  recipe.lora.enabled = tree.Get("lora").IsMap() && tree.Get("lora").size() > 0;
  return absl::OkStatus();
}

YAML::Node RecipeToYaml(const Recipe& recipe) {
  YAML::Node root(YAML::NodeType::Map);
  for (const Field& f : Fields()) {
    if (!recipe.lora.enabled && f.key.rfind("lora.", 0) == 0) continue;
    std::vector<std::string> parts = SplitDotted(f.key);
    YAML::Node node = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!node[parts[i]].IsMap()) node[parts[i]] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = node[parts[i]];
      node.reset(next);
    }
    node[parts.back()] = f.write(recipe);
  }
  return root;
}

}  // namespace zen
