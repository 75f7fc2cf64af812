// The recipe: every setting of a run, as plain structs filled once from YAML and validated.
// Everything downstream takes these, never raw YAML. Keys and defaults live in recipe_schema.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace zen {

// Zen-Omni's vision encoder, ViT-L/14's shape (CLIP): a pre-norm transformer over 14x14 patches. Images are
// resized to image_size, video frames to video_size; merge x merge neighbouring patches become one text-side
// token. layers = 0: the model has no vision encoder.
struct VisionSpec {
  int64_t layers = 0;
  int64_t hidden = 1024;
  int64_t heads = 16;
  int64_t ffn = 4096;
  int64_t patch = 14;
  int64_t image_size = 1008;        // the guide's 1024, rounded down to a multiple of patch x merge
  int64_t video_size = 224;
  int64_t video_frames = 32;        // most frames of one video
  int64_t merge = 2;
  bool frozen = true;               // encoders train only when asked (LoRA and full fine-tuning alike)
  int64_t ImageTokens() const { return Square(image_size / patch / merge); }
  int64_t FrameTokens() const { return Square(video_size / patch / merge); }
  static int64_t Square(int64_t n) { return n * n; }
};

// Zen-Omni's audio encoder, Whisper-large-v3's encoder shape: 128 log-mel bins of 16 kHz audio in 30-second
// chunks (3000 frames, hop 160), two convolutions (the second strides 2: 1500 frames), a pre-norm
// transformer, then pool neighbouring frames into one text-side token. layers = 0: no audio encoder.
struct AudioSpec {
  int64_t layers = 0;
  int64_t hidden = 1280;
  int64_t heads = 20;
  int64_t ffn = 5120;
  int64_t mel_bins = 128;
  int64_t chunk_frames = 3000;
  int64_t pool = 2;
  bool frozen = true;
  int64_t AudioTokens() const { return chunk_frames / 2 / pool; }
};

// The architecture: configs/models/*.yaml, or a Hugging Face config.json (core/hf_config.h) that defines it whole.
struct ModelSpec {
  std::string name;                 // "zen-nano"
  std::string file;                 // the configs/models/ file the recipe refers to
  std::string hf_config;            // a config.json in the file's place (default: checkpoint's config.json)
  std::string checkpoint;           // a Hugging Face folder with safetensors: the base weights
  std::string adapter;              // a PEFT adapter folder loaded into the LoRA adapters (docs/checkpoints.md)
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;             // 0 = heads (multi-head attention)
  int64_t head_dim = 0;             // 0 = hidden / heads
  int64_t ffn = 0;                  // dense SwiGLU width
  int64_t vocab = 0;
  int64_t max_position = 0;
  double rope_theta = 1e6;
  double norm_eps = 1e-6;
  bool tie_embeddings = true;
  int64_t sliding_window = 0;       // 0 = full attention
  std::vector<int64_t> sliding_layers;  // layers using the window; empty = all when sliding_window > 0
  // Each layer's token mixer, by kind name (models/token_mixer.h registers the kinds): "attention" (full or
  // sliding, per sliding_layers); Qwen3-Next adds "linear_attention" (Gated DeltaNet) and "gated_attention".
  // Empty = attention in every layer.
  std::vector<std::string> mixers;
  // Mixture of experts (experts = 0 is a dense model).
  int64_t experts = 0;
  int64_t top_k = 0;
  int64_t expert_ffn = 0;
  int64_t shared_ffn = 0;           // 0 = no shared expert
  int64_t moe_every = 1;            // every n-th layer is MoE (the rest dense)
  double router_temperature = 1.0;
  // Qwen3-Next (model_type qwen3_next, docs/qwen3-next.md): the "linear_attention" layers' Gated DeltaNet
  // shapes (HF's linear_* keys), the "gated_attention" layers' partial RoPE, zero-centred RMSNorms
  // x/rms(x) * (1 + w) for the layer and final norms, and a shared expert scaled by sigmoid(gate(x)).
  int64_t linear_num_key_heads = 0;
  int64_t linear_num_value_heads = 0;   // a multiple of linear_num_key_heads
  int64_t linear_key_head_dim = 0;
  int64_t linear_value_head_dim = 0;
  int64_t linear_conv_kernel_dim = 4;
  double partial_rotary_factor = 1.0;   // RoPE turns the first head_dim * factor dims (gated attention only)
  bool zero_centred_norms = false;
  bool shared_expert_gate = false;
  // Multimodal (Zen-Omni). Each <image>, <audio> or <video> of a record becomes a run of its placeholder id
  // (ImageTokens(), AudioTokens(), frames x FrameTokens() long) whose embeddings the projected encoder
  // features replace; every cross_attn_every-th layer also attends to its row's media features.
  VisionSpec vision;
  AudioSpec audio;
  int64_t cross_attn_every = 0;     // 0 = no cross-modal layers
  int64_t image_token_id = 151655;  // Qwen's <|image_pad|>
  int64_t video_token_id = 151656;  // Qwen's <|video_pad|>
  int64_t audio_token_id = 151646;  // Qwen2.5-Omni's <|AUDIO|>
  bool IsMultimodal() const { return vision.layers > 0 || audio.layers > 0; }
  bool IsCrossAttnLayer(int64_t layer) const {
    return IsMultimodal() && cross_attn_every > 0 && (layer % cross_attn_every) == cross_attn_every - 1;
  }
  bool IsMoe() const { return experts > 0; }
  bool IsLinearAttentionLayer(int64_t layer) const { return MixerOf(layer) == "linear_attention"; }
  int64_t KvHeads() const { return kv_heads > 0 ? kv_heads : heads; }
  int64_t HeadDim() const { return head_dim > 0 ? head_dim : hidden / heads; }
  bool IsMoeLayer(int64_t layer) const { return IsMoe() && (layer % moe_every) == moe_every - 1; }
  std::string MixerOf(int64_t layer) const {
    return mixers.empty() ? "attention" : mixers.at(static_cast<size_t>(layer));
  }
  bool IsSlidingLayer(int64_t layer) const {
    if (sliding_window <= 0) return false;
    return sliding_layers.empty() ||
           std::find(sliding_layers.begin(), sliding_layers.end(), layer) != sliding_layers.end();
  }
};

// What the guide's tables say about a model, for comparison with what its shapes imply.
struct ReferenceSpec {
  double params_total = 0;          // guide's "Total Params"
  double params_active = 0;
  double trainable_pct = 0;         // LoRA table
  double memory_fp32_gb = 0, memory_fp16_gb = 0, memory_int8_gb = 0, memory_int4_gb = 0;
};

struct LoraSpec {
  bool enabled = false;             // false = full fine-tuning
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.0;
  std::vector<std::string> targets; // module names: q, k, v, o, gate, up, down (+ MoE names later)
  double Scale() const { return alpha / static_cast<double>(rank); }
};

struct OptimSpec {
  double lr = 1e-4;
  double min_lr_ratio = 0.1;        // cosine decays to lr * min_lr_ratio
  int64_t warmup_steps = 0;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double grad_clip = 1.0;           // global L2 norm; 0 = off
};

struct TrainSpec {
  int64_t max_steps = 0;            // caps the run; 0 = derived from the token budget / epochs only
  uint64_t seed = 1234;
  int64_t seq_len = 2048;
  int64_t micro_batch_size = 1;     // sequences per forward pass per data-parallel rank
  int64_t global_batch_size = 1;    // sequences per optimizer step over all data-parallel ranks
  double token_budget = 0;          // guide's "Tokens"; 0 = unlimited
  double epochs = 1;
  std::string dtype = "fp32";       // fp32 | bf16 (bf16 compute, fp32 master weights and state)
  // fp32 | bf16: how parameters are stored. bf16: frozen weights exist only in bf16, trainable ones keep an
  // fp32 master in the optimizer, and the forward computes in bf16 whatever `dtype` says (docs/memory.md).
  std::string param_dtype = "fp32";
  int64_t max_bad_steps = 5;        // consecutive non-finite losses before the run aborts
  int64_t log_interval = 1;
  int64_t threads = 0;              // intra-op threads per rank; 0 = OMP_NUM_THREADS, else node cores / ranks
  bool resume = true;
  std::string resume_from;          // "" = `latest`; else a step number or a checkpoint folder to resume from
  std::string device = "cpu";       // cpu | cuda
  // Activation memory (docs/memory.md): none | selective (attention's core recomputed in the backward) |
  // full (each layer keeps only its input and is recomputed in the backward).
  std::string recompute = "none";
  int64_t recompute_layers = 0;     // full only: recompute the first N layers of each stage; 0 = all
  int64_t loss_chunk_tokens = 1024; // the cross entropy's logits are held for this many tokens at a time
};

// How `zen data prepare --recipe` turns the recipe's raw data into `data.path` (flags override each).
struct DataPrepareSpec {
  std::vector<std::string> inputs;  // text / JSONL / chat JSONL files, relative to where zen runs
  std::string format = "auto";      // auto | text | jsonl | chat
  std::string loss_mask = "assistant";  // chat: all | assistant | last
  double fim_rate = 0;              // fill-in-the-middle rate per text/jsonl document (0 = off)
  uint64_t seed = 0;                // FIM's choices
};

// One entry of `data.blend`: a prepared folder and its share of the training rows (weights are relative).
struct DataBlendEntry {
  std::string path;
  double weight = 1;
};

struct DataSpec {
  std::string source;               // "demo" = the embedded task; empty = read `path`
  std::string path;                 // a folder written by `zen data prepare`, relative to where zen runs
  bool block_causal = true;         // packed documents do not attend to each other (false: causal over the row)
  int64_t demo_examples = 200000;   // conversations in one epoch of the demo task
  double eval_fraction = 0;         // share of the packed windows held out of training for validation
  DataPrepareSpec prepare;
  // Instead of `path`: rows drawn from several prepared folders in proportion to their weights
  // (data/loader/blended_source.h); each folder wraps around on its own.
  std::vector<DataBlendEntry> blend;
};

struct TokenizerSpec {
  std::string path = "bytes";       // "bytes" = the built-in byte-level tokenizer, or a tokenizer.json
};

struct ParallelSpec {
  int64_t tensor = 1;
  int64_t pipeline = 1;
  int64_t expert = 1;
  bool sequence = false;            // Megatron sequence parallelism over the tensor-parallel group
  std::string schedule = "1f1b";    // 1f1b | gpipe
  std::vector<int64_t> stage_layers;  // layers per pipeline stage; empty = balanced by the cost model
  int64_t zero = 0;                 // 1 = ZeRO-1: optimizer state sharded over data-parallel ranks
  double timeout_s = 300;
  int64_t context = 1;              // context parallelism: each sequence split over this many ranks
};

struct MoeSpec {
  double aux_loss_coef = 0.01;      // Switch/GShard load-balancing loss per MoE layer (0 = off)
  double z_loss_coef = 0;           // router z-loss (ST-MoE): mean of logsumexp(logits)^2 (0 = off)
  double capacity_factor = 0;       // 0 = dropless; else each expert takes at most this x its fair share
  std::string balance = "micro_batch";  // micro_batch | global_batch: the token fractions of the balancing loss
  double router_bias_update_rate = 0;   // DeepSeek-V3 aux-loss-free balancing: per-expert bias step (0 = off)
};

struct EvalSpec {
  int64_t interval = 0;             // score the held-out rows every N steps (and at the end); 0 = never
  int64_t rows = 32;                // held-out rows scored each time (at most those held out)
  bool keep_best = false;           // also keep the checkpoint with the lowest eval_loss (checkpoints/best)
};

struct CheckpointSpec {
  int64_t interval = 0;             // save every N steps; 0 = only at the end
  int64_t keep = 2;                 // complete checkpoints kept (the newest); 0 = all
  bool async = false;               // write shards on a background thread, commit at the next save
};

struct Recipe {
  std::string path;                 // the recipe file
  std::string output_dir = "runs/default";
  ModelSpec model;
  ReferenceSpec reference;
  LoraSpec lora;
  OptimSpec optim;
  TrainSpec train;
  DataSpec data;
  TokenizerSpec tokenizer;
  ParallelSpec parallel;
  MoeSpec moe;
  EvalSpec eval;
  CheckpointSpec checkpoint;
};

}  // namespace zen
