#include "core/hf_config.h"

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"

namespace zen {
namespace {

using Json = nlohmann::json;

// A transformers config class zen builds, with the defaults a config.json may leave out: the dataclass
// fields of transformers 5.24's Qwen3Config, Qwen3MoeConfig and Qwen3NextConfig (RoPE's theta is
// RotaryEmbeddingConfigMixin.default_theta; Qwen3NextConfig's partial_rotary_factor and
// full_attention_interval are __post_init__ defaults). Qwen3MoeConfig has no head_dim field: its attention
// uses hidden_size / num_attention_heads unless the file gives one.
struct HfClass {
  std::string name;
  bool moe;
  Json defaults;
  bool hybrid = false;  // Qwen3-Next: Gated DeltaNet and gated attention layers, zero-centred norms
};

const HfClass* FindClass(const std::string& model_type) {
  static const std::map<std::string, HfClass> classes = {
      {"qwen3",
       {"Qwen3Config", false,
        {{"vocab_size", 151936}, {"hidden_size", 4096}, {"intermediate_size", 22016}, {"num_hidden_layers", 32},
         {"num_attention_heads", 32}, {"num_key_value_heads", 32}, {"head_dim", 128}, {"hidden_act", "silu"},
         {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", false},
         {"rope_theta", 10000.0}, {"attention_bias", false}, {"use_sliding_window", false},
         {"sliding_window", 4096}, {"max_window_layers", 28}}}},
      {"qwen3_moe",
       {"Qwen3MoeConfig", true,
        {{"vocab_size", 151936}, {"hidden_size", 2048}, {"intermediate_size", 6144}, {"num_hidden_layers", 24},
         {"num_attention_heads", 32}, {"num_key_value_heads", 4}, {"hidden_act", "silu"},
         {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", false},
         {"rope_theta", 10000.0}, {"attention_bias", false}, {"use_sliding_window", false},
         {"sliding_window", 4096}, {"decoder_sparse_step", 1}, {"moe_intermediate_size", 768},
         {"num_experts_per_tok", 8}, {"num_experts", 128}, {"norm_topk_prob", false},
         {"mlp_only_layers", Json::array()}}}},
      {"qwen3_next",
       {"Qwen3NextConfig", true,
        {{"vocab_size", 151936}, {"hidden_size", 2048}, {"intermediate_size", 5632}, {"num_hidden_layers", 48},
         {"num_attention_heads", 16}, {"num_key_value_heads", 2}, {"head_dim", 256}, {"hidden_act", "silu"},
         {"max_position_embeddings", 32768}, {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", false},
         {"rope_theta", 10000.0}, {"partial_rotary_factor", 0.25}, {"attention_bias", false},
         {"use_sliding_window", false}, {"sliding_window", nullptr}, {"decoder_sparse_step", 1},
         {"moe_intermediate_size", 512}, {"shared_expert_intermediate_size", 512}, {"num_experts_per_tok", 10},
         {"num_experts", 512}, {"norm_topk_prob", true}, {"mlp_only_layers", Json::array()},
         {"linear_conv_kernel_dim", 4}, {"linear_key_head_dim", 128}, {"linear_value_head_dim", 128},
         {"linear_num_key_heads", 16}, {"linear_num_value_heads", 32}, {"full_attention_interval", 4}},
        /*hybrid=*/true}},
  };
  auto it = classes.find(model_type);
  return it == classes.end() ? nullptr : &it->second;
}

constexpr const char* kBuilt =
    "zen builds \"qwen3\" (Qwen3ForCausalLM), \"qwen3_moe\" (Qwen3MoeForCausalLM) and \"qwen3_next\" "
    "(Qwen3NextForCausalLM)";

// Why a model_type transformers knows is not one zen builds yet.
std::string WhyNotBuilt(const std::string& model_type) {
  static const std::map<std::string, std::string> missing = {
      {"qwen3_omni_moe",
       "Qwen3-Omni is not implemented: its thinker's vision and audio encoders, M-RoPE and its talker differ "
       "from Zen-Omni's guide encoders (docs/omni.md)"},
      {"qwen3_vl", "Qwen3-VL is not implemented: its vision tower and M-RoPE"},
      {"qwen3_vl_moe", "Qwen3-VL-MoE is not implemented: its vision tower and M-RoPE"},
      {"qwen3_5", "Qwen3.5 is not implemented: its linear-attention layers and vision tower"},
      {"qwen3_5_moe", "Qwen3.5-MoE is not implemented: its linear-attention layers and vision tower"},
  };
  auto it = missing.find(model_type);
  return it == missing.end() ? "not a model zen implements" : it->second;
}

// One config.json's fields, each the file's value or the class default. The first problem becomes the
// status, "<path>: <field>: ...".
class HfConfigReader {
 public:
  HfConfigReader(std::string path, Json config, const HfClass& cls)
      : path_(std::move(path)), config_(std::move(config)), class_(cls) {}

  // Present in the file and not null.
  bool Given(const std::string& field) const { return config_.contains(field) && !config_[field].is_null(); }
  // The file's value, else the class default, else null.
  const Json& Value(const std::string& field) const {
    static const Json null;
    if (config_.contains(field)) return config_[field];
    return class_.defaults.contains(field) ? class_.defaults[field] : null;
  }
  int64_t Int(const std::string& field) {
    const Json& v = Value(field);
    if (v.is_number_integer()) return v.get<int64_t>();
    Refuse(field, "expected an integer, got " + v.dump());
    return 0;
  }
  double Number(const std::string& field) {
    const Json& v = Value(field);
    if (v.is_number()) return v.get<double>();
    Refuse(field, "expected a number, got " + v.dump());
    return 0;
  }
  bool Bool(const std::string& field) {
    const Json& v = Value(field);
    if (v.is_boolean()) return v.get<bool>();
    Refuse(field, "expected true or false, got " + v.dump());
    return false;
  }
  void Refuse(const std::string& field, const std::string& why) {
    if (status_.ok()) status_ = BadInput(absl::StrCat(path_, ": ", field, ": ", why));
  }
  // Where a value came from, for messages about the zen key it became.
  std::string Origin(const std::string& field) const {
    if (config_.contains(field)) return absl::StrCat(path_, ": ", field);
    return absl::StrCat(path_, ": ", field, " (absent: ", class_.name, "'s default)");
  }
  const HfClass& cls() const { return class_; }
  const absl::Status& status() const { return status_; }

 private:
  std::string path_;
  Json config_;
  const HfClass& class_;
  absl::Status status_;
};

// Fields of architectures zen lacks; transformers' Qwen3 and Qwen3-MoE would ignore some of them, but a
// config that carries them describes another model.
void RefuseUnimplemented(HfConfigReader& r, const Json& config) {
  if (r.Value("hidden_act") != "silu") {
    r.Refuse("hidden_act", absl::StrCat(r.Value("hidden_act").dump(), ": zen's MLPs are SwiGLU (silu) only"));
  }
  if (r.Value("attention_bias") != false) {
    r.Refuse("attention_bias", "zen's attention projections have no biases (only false is implemented)");
  }
  if (r.Given("attn_output_gate") && config["attn_output_gate"] != false) {
    r.Refuse("attn_output_gate", "gated attention is Qwen3-Next's (model_type qwen3_next) only");
  }
  if (!r.cls().hybrid) {
    if (r.Given("full_attention_interval")) {
      r.Refuse("full_attention_interval", "hybrid linear / full attention is Qwen3-Next's (model_type qwen3_next) only");
    }
    for (const auto& item : config.items()) {
      if (item.key().rfind("linear_", 0) == 0) {
        r.Refuse(item.key(), "linear attention (Gated DeltaNet) is Qwen3-Next's (model_type qwen3_next) only");
      }
    }
  }
  if (r.Given("layer_types")) {
    const Json& types = config["layer_types"];
    if (!types.is_array()) r.Refuse("layer_types", "expected a list, got " + types.dump());
    const std::set<std::string> known = r.cls().hybrid ? std::set<std::string>{"full_attention", "linear_attention"}
                                                       : std::set<std::string>{"full_attention", "sliding_attention"};
    for (size_t l = 0; types.is_array() && l < types.size(); ++l) {
      if (!types[l].is_string() || known.count(types[l].get<std::string>()) == 0) {
        r.Refuse("layer_types", absl::StrCat(types[l].dump(), " (layer ", l, "): ", r.cls().name, " in zen has ",
                                             absl::StrJoin(known, " and "), " layers only"));
      }
    }
  }
  if (r.cls().hybrid && r.Bool("use_sliding_window")) {
    r.Refuse("use_sliding_window", "Qwen3-Next's attention layers have no window (only false is implemented)");
  }
  if (!r.cls().moe) return;
  if (r.Value("norm_topk_prob") != true) {
    r.Refuse("norm_topk_prob", absl::StrCat(r.Given("norm_topk_prob") ? "false" : "absent (Qwen3MoeConfig's default false)",
                                            ": zen always renormalises the top-k routing weights (true)"));
  }
  const Json& mlp_only = r.Value("mlp_only_layers");
  if (!mlp_only.is_null() && (!mlp_only.is_array() || !mlp_only.empty())) {
    r.Refuse("mlp_only_layers", "dense layers among MoE ones are placed by decoder_sparse_step only; must be []");
  }
  if (!r.cls().hybrid && r.Given("shared_expert_intermediate_size") && config["shared_expert_intermediate_size"] != 0) {
    r.Refuse("shared_expert_intermediate_size",
             "transformers' Qwen3-MoE has no shared expert (its Qwen3MoeSparseMoeBlock ignores this field); "
             "set model.shared_ffn in the recipe for zen's ungated one");
  }
}

// RoPE: transformers reads rope_scaling, else rope_parameters, and takes rope_theta from there before the
// top-level key. zen implements the default (unscaled, full-width) rotation only.
void SetRopeTheta(HfConfigReader& r, const Json& config, ConfigTree& tree) {
  const std::string field = r.Given("rope_scaling") ? "rope_scaling" : "rope_parameters";
  const Json rope = r.Given(field) ? config[field] : Json::object();
  if (!rope.is_object()) return r.Refuse(field, "expected an object, got " + rope.dump());
  const Json type = rope.value("rope_type", rope.value("type", Json("default")));
  if (type != "default") {
    r.Refuse(field, absl::StrCat("rope_type ", type.dump(), ": zen implements only the default RoPE (no scaling)"));
  }
  for (const char* mrope : {"mrope_section", "mrope_interleaved"}) {
    if (rope.contains(mrope)) r.Refuse(field, absl::StrCat(mrope, ": multimodal RoPE is not implemented"));
  }
  for (const auto& item : rope.items()) {
    if (item.value().is_object()) r.Refuse(field, absl::StrCat(item.key(), ": per-layer-type RoPE is not implemented"));
  }
  // Qwen3-Next's gated attention turns the first head_dim * factor dims; Qwen3's attention the whole head.
  const std::string factor_field = rope.contains("partial_rotary_factor") ? field : "partial_rotary_factor";
  const Json factor = rope.contains("partial_rotary_factor") ? rope["partial_rotary_factor"]
                                                             : r.Value("partial_rotary_factor");
  if (r.cls().hybrid) {
    if (!factor.is_number() || factor.get<double>() <= 0 || factor.get<double>() > 1) {
      r.Refuse("partial_rotary_factor", absl::StrCat("expected a number in (0, 1], got ", factor.dump()));
    } else {
      tree.Set("model.partial_rotary_factor", YAML::Node(factor.get<double>()), r.Origin(factor_field));
    }
  } else if (!factor.is_null() && factor != 1 && factor != 1.0) {
    r.Refuse("partial_rotary_factor", absl::StrCat(factor.dump(), ": zen rotates the whole head (1 only)"));
  } else {
    tree.Set("model.partial_rotary_factor", YAML::Node(1.0), r.Origin("model_type"));
  }
  if (!rope.contains("rope_theta")) {
    tree.Set("model.rope_theta", YAML::Node(r.Number("rope_theta")), r.Origin("rope_theta"));
  } else if (rope["rope_theta"].is_number()) {
    tree.Set("model.rope_theta", YAML::Node(rope["rope_theta"].get<double>()), r.Origin(field));
  } else {
    r.Refuse(field, "rope_theta: expected a number, got " + rope["rope_theta"].dump());
  }
}

// Sliding-window attention: Qwen3 windows the layers layer_types marks (derived from max_window_layers on
// when absent); Qwen3-MoE windows every layer. Without use_sliding_window, no layer has a window.
void SetSlidingWindow(HfConfigReader& r, const Json& config, int64_t layers, ConfigTree& tree) {
  int64_t window = 0;
  YAML::Node sliding(YAML::NodeType::Sequence);  // empty with a window = every layer
  if (r.Bool("use_sliding_window") && !r.Value("sliding_window").is_null()) {
    window = r.Int("sliding_window");
    if (!r.cls().moe && r.Given("layer_types")) {
      const Json& types = config["layer_types"];
      if (static_cast<int64_t>(types.size()) != layers) {
        r.Refuse("layer_types", absl::StrCat(types.size(), " entries for ", layers, " layers (num_hidden_layers)"));
      }
      for (size_t l = 0; l < types.size(); ++l) {
        if (types[l] == "sliding_attention") sliding.push_back(static_cast<int64_t>(l));
      }
    } else if (!r.cls().moe) {
      for (int64_t l = r.Int("max_window_layers"); l < layers; ++l) sliding.push_back(l);
    }
    if (!r.cls().moe && sliding.size() == 0) window = 0;  // no layer is of the sliding type
  }
  tree.Set("model.sliding_window", YAML::Node(window), r.Origin("use_sliding_window"));
  tree.Set("model.sliding_layers", sliding, r.Origin(r.Given("layer_types") ? "layer_types" : "use_sliding_window"));
}

void SetExperts(HfConfigReader& r, ConfigTree& tree) {
  // transformers 5 writes num_experts as num_local_experts (Qwen3MoeConfig.attribute_map).
  const std::string field =
      r.Given("num_local_experts") && !r.Given("num_experts") ? "num_local_experts" : "num_experts";
  const int64_t experts = r.cls().moe ? r.Int(field) : 0;
  const auto set = [&](const std::string& key, int64_t value, const std::string& from) {
    tree.Set(key, YAML::Node(value), r.Origin(from));
  };
  set("model.experts", experts, r.cls().moe ? field : "model_type");
  set("model.top_k", experts > 0 ? r.Int("num_experts_per_tok") : 0, "num_experts_per_tok");
  set("model.expert_ffn", experts > 0 ? r.Int("moe_intermediate_size") : 0, "moe_intermediate_size");
  set("model.moe_every", experts > 0 ? r.Int("decoder_sparse_step") : 1, "decoder_sparse_step");
  // Only Qwen3-Next has a shared expert (gated); no class has a router temperature.
  const bool shared = r.cls().hybrid && experts > 0;
  set("model.shared_ffn", shared ? r.Int("shared_expert_intermediate_size") : 0,
      shared ? "shared_expert_intermediate_size" : "model_type");
  tree.Set("model.shared_expert_gate", YAML::Node(shared && r.Int("shared_expert_intermediate_size") > 0),
           r.Origin(shared ? "shared_expert_intermediate_size" : "model_type"));
  tree.Set("model.router_temperature", YAML::Node(1.0), r.Origin("model_type"));
}

// Qwen3-Next's layers: layer_types (or, when absent, full_attention_interval: every n-th layer full) as
// ModelSpec::mixers, "full_attention" -> "gated_attention"; the Gated DeltaNet shapes; zero-centred norms.
// The other classes: attention in every layer (mixers empty), no linear-attention shapes.
void SetMixers(HfConfigReader& r, const Json& config, int64_t layers, ConfigTree& tree) {
  YAML::Node mixers(YAML::NodeType::Sequence);
  const bool hybrid = r.cls().hybrid;
  if (hybrid && r.Given("layer_types")) {
    const Json& types = config["layer_types"];
    if (static_cast<int64_t>(types.size()) != layers) {
      r.Refuse("layer_types", absl::StrCat(types.size(), " entries for ", layers, " layers (num_hidden_layers)"));
    }
    for (const Json& type : types) mixers.push_back(type == "linear_attention" ? "linear_attention" : "gated_attention");
  } else if (hybrid) {
    const int64_t interval = r.Int("full_attention_interval");
    if (interval <= 0) r.Refuse("full_attention_interval", "must be a positive integer");
    for (int64_t l = 0; interval > 0 && l < layers; ++l) {
      mixers.push_back((l + 1) % interval == 0 ? "gated_attention" : "linear_attention");
    }
  }
  tree.Set("model.mixers", mixers, r.Origin(hybrid && r.Given("layer_types") ? "layer_types" : "full_attention_interval"));
  for (const char* field : {"linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim",
                            "linear_value_head_dim", "linear_conv_kernel_dim"}) {
    const std::string key = absl::StrCat("model.", field);
    if (hybrid) {
      tree.Set(key, YAML::Node(r.Int(field)), r.Origin(field));
    } else {
      tree.Set(key, YAML::Node(std::string(field) == "linear_conv_kernel_dim" ? 4 : 0), r.Origin("model_type"));
    }
  }
  tree.Set("model.zero_centred_norms", YAML::Node(hybrid), r.Origin("model_type"));
}

absl::StatusOr<Json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return BadInput(absl::StrCat(path, ": cannot read the Hugging Face config"));
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return BadInput(absl::StrCat(path, ": not a JSON object"));
  return j;
}

absl::StatusOr<const HfClass*> ClassOf(const std::string& path, const Json& config) {
  if (!config.contains("model_type")) return BadInput(absl::StrCat(path, ": model_type: missing; ", kBuilt));
  if (!config["model_type"].is_string()) {
    return BadInput(absl::StrCat(path, ": model_type: expected a string, got ", config["model_type"].dump()));
  }
  const std::string model_type = config["model_type"];
  const HfClass* cls = FindClass(model_type);
  if (cls == nullptr) {
    return BadInput(absl::StrCat(path, ": model_type: \"", model_type, "\": ", WhyNotBuilt(model_type), "; ", kBuilt));
  }
  return cls;
}

}  // namespace

absl::StatusOr<ConfigTree> ModelTreeFromHfConfig(const std::string& path) {
  ZEN_ASSIGN_OR_RETURN(const Json config, ReadJson(path));
  ZEN_ASSIGN_OR_RETURN(const HfClass* cls, ClassOf(path, config));
  HfConfigReader r(path, config, *cls);
  RefuseUnimplemented(r, config);
  ZEN_RETURN_IF_ERROR(r.status());

  ConfigTree tree;
  const auto set_int = [&](const std::string& key, const std::string& field) {
    tree.Set(key, YAML::Node(r.Int(field)), r.Origin(field));
  };
  const auto set_number = [&](const std::string& key, const std::string& field) {
    tree.Set(key, YAML::Node(r.Number(field)), r.Origin(field));
  };
  set_int("model.layers", "num_hidden_layers");
  set_int("model.hidden", "hidden_size");
  set_int("model.heads", "num_attention_heads");
  set_int("model.ffn", "intermediate_size");
  set_int("model.vocab", "vocab_size");
  set_int("model.max_position", "max_position_embeddings");
  set_number("model.norm_eps", "rms_norm_eps");
  tree.Set("model.tie_embeddings", YAML::Node(r.Bool("tie_word_embeddings")), r.Origin("tie_word_embeddings"));
  SetRopeTheta(r, config, tree);
  // num_key_value_heads: null means multi-head attention; Qwen3-MoE's head_dim defaults to hidden / heads.
  const int64_t heads = r.Int("num_attention_heads");
  if (config.contains("num_key_value_heads") && config["num_key_value_heads"].is_null()) {
    tree.Set("model.kv_heads", YAML::Node(heads), r.Origin("num_key_value_heads"));
  } else {
    set_int("model.kv_heads", "num_key_value_heads");
  }
  if (r.Given("head_dim") || !cls->moe || cls->hybrid) {
    set_int("model.head_dim", "head_dim");
  } else {
    tree.Set("model.head_dim", YAML::Node(heads > 0 ? r.Int("hidden_size") / heads : 0),
             absl::StrCat(path, ": head_dim (absent: hidden_size / num_attention_heads, as Qwen3MoeAttention)"));
  }
  SetSlidingWindow(r, config, r.Int("num_hidden_layers"), tree);
  SetExperts(r, tree);
  SetMixers(r, config, r.Int("num_hidden_layers"), tree);
  // No class has Zen-Omni's encoders or cross-modal layers.
  for (const char* key : {"model.vision.layers", "model.audio.layers", "model.cross_attn_every"}) {
    tree.Set(key, YAML::Node(0), r.Origin("model_type"));
  }
  ZEN_RETURN_IF_ERROR(r.status());
  return tree;
}

bool IsArchitectureKey(const std::string& dotted) {
  static const std::set<std::string> locators = {"model.name", "model.file", "model.hf_config", "model.checkpoint"};
  return dotted.rfind("model.", 0) == 0 && locators.count(dotted) == 0;
}

}  // namespace zen
