// Range and consistency checks on a recipe, before any compute. Each failure names the key to fix.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_join.h"
#include "core/recipe_schema.h"

namespace zen {
namespace {

// Collects the first failed check as BadInput "origin: key: message" ("key: message" without a tree: a
// ModelSpec built in code).
class Checker {
 public:
  explicit Checker(const ConfigTree* tree) : tree_(tree) {}

  void Require(bool ok, const std::string& key, const std::string& message) {
    if (ok || !status_.ok()) return;
    status_ = BadInput(absl::StrCat(tree_ != nullptr ? tree_->OriginOf(key) + ": " : "", key, ": ", message));
  }
  void Positive(double value, const std::string& key) {
    Require(value > 0, key, absl::StrCat("must be positive, got ", value));
  }
  void NonNegative(double value, const std::string& key) {
    Require(value >= 0, key, absl::StrCat("must not be negative, got ", value));
  }
  void OneOf(const std::string& value, const std::vector<std::string>& allowed, const std::string& key) {
    Require(std::find(allowed.begin(), allowed.end(), value) != allowed.end(), key,
            absl::StrCat("must be one of ", absl::StrJoin(allowed, ", "), "; got \"", value, "\""));
  }
  absl::Status status() const { return status_; }

 private:
  const ConfigTree* tree_;
  absl::Status status_;
};

// Zen-Omni's encoders: head counts divide widths, images and frames split into whole merged patches, audio
// chunks into whole pooled frames after the stride-2 stem.
void CheckEncoders(const ModelSpec& m, Checker& c) {
  c.NonNegative(m.vision.layers, "model.vision.layers");
  c.NonNegative(m.audio.layers, "model.audio.layers");
  c.NonNegative(m.cross_attn_every, "model.cross_attn_every");
  if (m.vision.layers > 0) {
    const VisionSpec& v = m.vision;
    c.Positive(v.heads, "model.vision.heads");
    c.Positive(v.ffn, "model.vision.ffn");
    c.Require(v.hidden > 0 && v.hidden % std::max<int64_t>(v.heads, 1) == 0, "model.vision.hidden",
              absl::StrCat("must be a positive multiple of model.vision.heads (", v.heads, "), got ", v.hidden));
    c.Positive(v.patch, "model.vision.patch");
    c.Positive(v.merge, "model.vision.merge");
    const int64_t unit = std::max<int64_t>(v.patch, 1) * std::max<int64_t>(v.merge, 1);
    c.Require(v.image_size > 0 && v.image_size % unit == 0, "model.vision.image_size",
              absl::StrCat("must be a positive multiple of patch x merge (", unit, "), got ", v.image_size));
    c.Require(v.video_size > 0 && v.video_size % unit == 0, "model.vision.video_size",
              absl::StrCat("must be a positive multiple of patch x merge (", unit, "), got ", v.video_size));
    c.Positive(v.video_frames, "model.vision.video_frames");
  }
  if (m.audio.layers > 0) {
    const AudioSpec& a = m.audio;
    c.Positive(a.heads, "model.audio.heads");
    c.Positive(a.ffn, "model.audio.ffn");
    c.Require(a.hidden > 0 && a.hidden % std::max<int64_t>(a.heads, 1) == 0, "model.audio.hidden",
              absl::StrCat("must be a positive multiple of model.audio.heads (", a.heads, "), got ", a.hidden));
    c.Positive(a.mel_bins, "model.audio.mel_bins");
    c.Positive(a.pool, "model.audio.pool");
    c.Require(a.chunk_frames > 0 && a.chunk_frames % (2 * std::max<int64_t>(a.pool, 1)) == 0,
              "model.audio.chunk_frames",
              absl::StrCat("must be a positive multiple of 2 x pool (", 2 * a.pool, "), got ", a.chunk_frames));
  }
  for (auto [id, key] : {std::pair{m.image_token_id, "model.image_token_id"},
                         std::pair{m.video_token_id, "model.video_token_id"},
                         std::pair{m.audio_token_id, "model.audio_token_id"}}) {
    if (m.IsMultimodal()) {
      c.Require(id >= 0 && id < m.vocab, key, absl::StrCat("must be a token id below model.vocab (", m.vocab, "), got ", id));
    }
  }
}

// Qwen3-Next's kinds: one kind per layer; Gated DeltaNet's shapes where a layer is linear_attention (whole
// value heads per key head); partial RoPE only where every attention layer is gated_attention, turning an even
// number of dims.
void CheckMixerShapes(const ModelSpec& m, Checker& c) {
  c.Require(m.mixers.empty() || static_cast<int64_t>(m.mixers.size()) == m.layers, "model.mixers",
            absl::StrCat("names ", m.mixers.size(), " kinds for ", m.layers, " layers (model.layers)"));
  const auto has = [&](const char* kind) { return std::find(m.mixers.begin(), m.mixers.end(), kind) != m.mixers.end(); };
  if (has("linear_attention")) {
    c.Positive(m.linear_num_key_heads, "model.linear_num_key_heads");
    c.Positive(m.linear_key_head_dim, "model.linear_key_head_dim");
    c.Positive(m.linear_value_head_dim, "model.linear_value_head_dim");
    c.Positive(m.linear_conv_kernel_dim, "model.linear_conv_kernel_dim");
    c.Require(m.linear_num_value_heads > 0 && m.linear_num_value_heads % std::max<int64_t>(m.linear_num_key_heads, 1) == 0,
              "model.linear_num_value_heads",
              absl::StrCat("must be a positive multiple of model.linear_num_key_heads (", m.linear_num_key_heads,
                           "), got ", m.linear_num_value_heads));
  }
  c.Require(m.partial_rotary_factor > 0 && m.partial_rotary_factor <= 1, "model.partial_rotary_factor",
            absl::StrCat("must be in (0, 1], got ", m.partial_rotary_factor));
  if (m.partial_rotary_factor != 1) {
    c.Require(!m.mixers.empty() && !has("attention"), "model.partial_rotary_factor",
              "only gated_attention layers (model.mixers) implement partial RoPE; \"attention\" turns the whole head");
    const int64_t head_dim = m.heads > 0 ? m.HeadDim() : 0;  // heads <= 0 is reported elsewhere
    const auto rotary = static_cast<int64_t>(static_cast<double>(head_dim) * m.partial_rotary_factor);
    c.Require(head_dim <= 0 || (rotary > 0 && rotary % 2 == 0), "model.partial_rotary_factor",
              absl::StrCat("turns ", rotary, " of the head's ", head_dim, " dims; must be a positive even number"));
  }
}

// What building the decoder needs: positive sizes, whole heads per KV head, an even head size, a valid
// mixture of experts.
void CheckModelShapes(const ModelSpec& m, Checker& c) {
  c.Positive(m.layers, "model.layers");
  c.Positive(m.hidden, "model.hidden");
  c.Positive(m.heads, "model.heads");
  c.NonNegative(m.kv_heads, "model.kv_heads");
  c.NonNegative(m.head_dim, "model.head_dim");
  c.Require(m.head_dim > 0 || m.hidden % std::max<int64_t>(m.heads, 1) == 0, "model.head_dim",
            absl::StrCat("is unset and model.hidden (", m.hidden, ") is not divisible by model.heads (", m.heads, ")"));
  c.Require(m.heads % std::max<int64_t>(m.KvHeads(), 1) == 0, "model.kv_heads",
            absl::StrCat("must divide model.heads (", m.heads, "), got ", m.KvHeads()));
  // HeadDim() divides by heads, which may be 0 here (reported above): never evaluate it then.
  c.Require(m.heads <= 0 || m.HeadDim() % 2 == 0, "model.head_dim", "must be even (rotary embeddings rotate pairs)");
  c.Positive(m.vocab, "model.vocab");
  c.NonNegative(m.experts, "model.experts");
  bool any_dense_layer = !m.IsMoe() || m.moe_every > 1;
  if (any_dense_layer) c.Positive(m.ffn, "model.ffn");
  if (m.IsMoe()) {
    c.Require(m.top_k >= 1 && m.top_k <= m.experts, "model.top_k",
              absl::StrCat("must be between 1 and model.experts (", m.experts, "), got ", m.top_k));
    c.Positive(m.expert_ffn, "model.expert_ffn");
    c.NonNegative(m.shared_ffn, "model.shared_ffn");
    c.Positive(m.moe_every, "model.moe_every");
    c.Positive(m.router_temperature, "model.router_temperature");
    c.Require(!m.shared_expert_gate || m.shared_ffn > 0, "model.shared_expert_gate",
              "gates the shared expert: set model.shared_ffn > 0");
  }
  CheckMixerShapes(m, c);
}

void CheckModel(const ModelSpec& m, Checker& c) {
  CheckModelShapes(m, c);
  c.Positive(m.max_position, "model.max_position");
  c.Positive(m.rope_theta, "model.rope_theta");
  c.Positive(m.norm_eps, "model.norm_eps");
  c.NonNegative(m.sliding_window, "model.sliding_window");
  for (int64_t layer : m.sliding_layers) {
    c.Require(layer >= 0 && layer < m.layers, "model.sliding_layers",
              absl::StrCat("layer ", layer, " is outside 0..", m.layers - 1));
  }
  CheckEncoders(m, c);
}

void CheckLora(const LoraSpec& l, Checker& c) {
  if (!l.enabled) return;
  c.Positive(l.rank, "lora.rank");
  c.Positive(l.alpha, "lora.alpha");
  c.Require(l.dropout >= 0 && l.dropout < 1, "lora.dropout", absl::StrCat("must be in [0, 1), got ", l.dropout));
  c.Require(!l.targets.empty(), "lora.targets", "must name at least one module (or delete `lora` to fine-tune fully)");
  for (const std::string& t : l.targets) c.OneOf(t, KnownLoraTargets(), "lora.targets");
}

void CheckOptim(const OptimSpec& o, Checker& c) {
  c.Positive(o.lr, "optim.lr");
  c.Require(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1, "optim.min_lr_ratio",
            absl::StrCat("must be in [0, 1], got ", o.min_lr_ratio));
  c.NonNegative(o.warmup_steps, "optim.warmup_steps");
  c.NonNegative(o.weight_decay, "optim.weight_decay");
  c.Require(o.beta1 >= 0 && o.beta1 < 1, "optim.beta1", absl::StrCat("must be in [0, 1), got ", o.beta1));
  c.Require(o.beta2 >= 0 && o.beta2 < 1, "optim.beta2", absl::StrCat("must be in [0, 1), got ", o.beta2));
  c.Positive(o.eps, "optim.eps");
  c.NonNegative(o.grad_clip, "optim.grad_clip");
}

void CheckTrain(const Recipe& r, Checker& c) {
  const TrainSpec& t = r.train;
  c.NonNegative(t.max_steps, "train.max_steps");
  c.Positive(t.seq_len, "train.seq_len");
  c.Require(t.seq_len <= r.model.max_position, "train.seq_len",
            absl::StrCat("(", t.seq_len, ") exceeds model.max_position (", r.model.max_position, ")"));
  c.Positive(t.micro_batch_size, "train.micro_batch_size");
  c.Positive(t.global_batch_size, "train.global_batch_size");
  c.Require(t.global_batch_size % std::max<int64_t>(t.micro_batch_size, 1) == 0, "train.global_batch_size",
            absl::StrCat("(", t.global_batch_size, ") must be a multiple of train.micro_batch_size (",
                         t.micro_batch_size, ")"));
  c.NonNegative(t.token_budget, "train.token_budget");
  c.Positive(t.epochs, "train.epochs");
  c.Require(t.max_steps > 0 || t.token_budget > 0, "train.max_steps",
            "set train.max_steps or train.token_budget: the run needs an end");
  c.OneOf(t.dtype, {"fp32", "bf16"}, "train.dtype");
  c.OneOf(t.param_dtype, {"fp32", "bf16"}, "train.param_dtype");
  c.OneOf(t.device, {"cpu", "cuda"}, "train.device");
  c.Positive(t.max_bad_steps, "train.max_bad_steps");
  c.Positive(t.log_interval, "train.log_interval");
  c.NonNegative(t.threads, "train.threads");
  c.OneOf(t.recompute, {"none", "selective", "full"}, "train.recompute");
  c.NonNegative(t.recompute_layers, "train.recompute_layers");
  c.Require(t.recompute_layers == 0 || t.recompute == "full", "train.recompute_layers",
            absl::StrCat("(", t.recompute_layers, ") needs train.recompute=full, got \"", t.recompute, "\""));
  c.Require(t.recompute_layers <= r.model.layers, "train.recompute_layers",
            absl::StrCat("(", t.recompute_layers, ") exceeds model.layers (", r.model.layers, ")"));
  c.Positive(t.loss_chunk_tokens, "train.loss_chunk_tokens");
}

// data.blend replaces data.path (and the demo task); each entry names a folder once, with a positive weight.
void CheckBlend(const DataSpec& d, Checker& c) {
  if (d.blend.empty()) return;
  c.Require(d.path.empty(), "data.blend",
            absl::StrCat("and data.path (\"", d.path, "\") are both set; give one: data.path for one folder, "
                         "data.blend for several (the override ~data.path removes a recipe's data.path)"));
  c.Require(d.source.empty(), "data.blend", absl::StrCat("cannot be used with data.source=", d.source));
  for (size_t i = 0; i < d.blend.size(); ++i) {
    const std::string entry = absl::StrCat("[", i, "]");
    c.Require(!d.blend[i].path.empty(), "data.blend", entry + ".path: must name a folder written by `zen data prepare`");
    c.Require(d.blend[i].weight > 0 && std::isfinite(d.blend[i].weight), "data.blend",
              absl::StrCat(entry, ".weight: must be positive, got ", d.blend[i].weight));
    for (size_t j = 0; j < i; ++j) {
      c.Require(d.blend[j].path != d.blend[i].path, "data.blend",
                absl::StrCat(entry, ".path: \"", d.blend[i].path, "\" is already entry [", j,
                             "]; give one entry the summed weight"));
    }
  }
}

void CheckData(const Recipe& r, Checker& c) {
  c.Require(r.data.source.empty() || r.data.source == "demo", "data.source",
            absl::StrCat("must be \"demo\" or unset (then data.path is read), got \"", r.data.source, "\""));
  c.Require(!r.data.source.empty() || !r.data.path.empty() || !r.data.blend.empty(), "data.path",
            "is required when data.source is unset (a folder written by `zen data prepare`), or set data.blend or "
            "data.source=demo");
  CheckBlend(r.data, c);
  c.Require(r.data.source != "demo" || r.model.vocab >= 259, "model.vocab",
            absl::StrCat("the demo task's byte tokenizer needs at least 259 ids, got ", r.model.vocab));
  c.Positive(r.data.demo_examples, "data.demo_examples");
  const DataPrepareSpec& p = r.data.prepare;
  c.OneOf(p.format, {"auto", "text", "jsonl", "chat", "sharegpt", "alpaca", "repo", "parquet"}, "data.prepare.format");
  c.OneOf(p.loss_mask, {"all", "assistant", "last"}, "data.prepare.loss_mask");
  c.Require(p.fim_rate >= 0 && p.fim_rate <= 1, "data.prepare.fim_rate",
            absl::StrCat("must be from 0 to 1, got ", p.fim_rate));
}

void CheckParallel(const ParallelSpec& p, Checker& c) {
  c.Positive(p.tensor, "parallel.tensor");
  c.Positive(p.pipeline, "parallel.pipeline");
  c.Positive(p.expert, "parallel.expert");
  c.Positive(p.context, "parallel.context");
  c.OneOf(p.schedule, {"1f1b", "gpipe"}, "parallel.schedule");
  c.Positive(p.timeout_s, "parallel.timeout_s");
  c.Require(p.zero == 0 || p.zero == 1, "parallel.zero", absl::StrCat("must be 0 or 1 (ZeRO-1), got ", p.zero));
}

}  // namespace

absl::Status ValidateModelShapes(const ModelSpec& spec) {
  Checker c(/*tree=*/nullptr);
  CheckModelShapes(spec, c);
  return c.status();
}

absl::Status ValidateRecipe(const Recipe& r, const ConfigTree& tree) {
  Checker c(&tree);
  c.Require(!r.output_dir.empty(), "output_dir", "must not be empty");
  CheckModel(r.model, c);
  CheckLora(r.lora, c);
  c.Require(r.model.adapter.empty() || r.lora.enabled, "model.adapter",
            "a PEFT adapter loads into LoRA adapters, but the recipe has no lora section (docs/checkpoints.md)");
  CheckOptim(r.optim, c);
  CheckTrain(r, c);
  CheckData(r, c);
  CheckParallel(r.parallel, c);
  c.NonNegative(r.moe.aux_loss_coef, "moe.aux_loss_coef");
  c.NonNegative(r.moe.z_loss_coef, "moe.z_loss_coef");
  c.NonNegative(r.moe.capacity_factor, "moe.capacity_factor");
  c.OneOf(r.moe.balance, {"micro_batch", "global_batch"}, "moe.balance");
  c.NonNegative(r.moe.router_bias_update_rate, "moe.router_bias_update_rate");
  c.NonNegative(r.checkpoint.interval, "checkpoint.interval");
  c.NonNegative(r.checkpoint.keep, "checkpoint.keep");
  c.NonNegative(r.eval.interval, "eval.interval");
  c.Positive(r.eval.rows, "eval.rows");
  c.Require(r.data.eval_fraction >= 0 && r.data.eval_fraction <= 0.5, "data.eval_fraction",
            absl::StrCat("must be from 0 to 0.5, got ", r.data.eval_fraction));
  c.Require(r.eval.interval == 0 || r.data.eval_fraction > 0, "eval.interval",
            "needs held-out data: set data.eval_fraction (e.g. 0.05)");
  return c.status();
}

}  // namespace zen
