#include "trainer/plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/derived.h"          // defines: TokensPerStep, TotalSteps
#include "models/lora.h"           // defines: LoraLinear, ResolveLoraTarget(s)
#include "trainer/model_stage.h"   // defines: ChooseStage

namespace zen {
namespace {

constexpr double kFp32 = 4, kBf16 = 2;
constexpr double kAdamBytes = 2 * kFp32;  // exp_avg + exp_avg_sq

// How a linear's weight (out, in) is split over the tensor-parallel group.
enum class Split { kColumn, kRow, kWhole };

// `count` linears (in -> out) of one kind in one layer; `expert`: routed experts, split over ep.
struct LinearGroup {
  LoraLinear kind;
  double count, in, out;
  Split split;
  bool expert = false;
};

// Layer `layer`'s linears as models/ builds them: attention and the dense MLP column/row-parallel; on MoE
// layers the router and routed experts whole on every tp rank, the shared expert column/row-parallel.
std::vector<LinearGroup> LayerLinears(const ModelSpec& s, int64_t layer) {
  using L = LoraLinear;
  const double c = s.hidden, q = s.heads * s.HeadDim(), kv = s.KvHeads() * s.HeadDim();
  std::vector<LinearGroup> g = {{L::kQ, 1, c, q, Split::kColumn},
                                {L::kK, 1, c, kv, Split::kColumn},
                                {L::kV, 1, c, kv, Split::kColumn},
                                {L::kO, 1, q, c, Split::kRow}};
  if (!s.IsMoeLayer(layer)) {
    const double f = s.ffn;
    g.insert(g.end(), {{L::kGate, 1, c, f, Split::kColumn}, {L::kUp, 1, c, f, Split::kColumn},
                       {L::kDown, 1, f, c, Split::kRow}});
    return g;
  }
  const double e = s.experts, ef = s.expert_ffn, sf = s.shared_ffn;
  g.insert(g.end(), {{L::kRouter, 1, c, e, Split::kWhole},
                     {L::kExpertGate, e, c, ef, Split::kWhole, true},
                     {L::kExpertUp, e, c, ef, Split::kWhole, true},
                     {L::kExpertDown, e, ef, c, Split::kWhole, true}});
  if (s.shared_ffn > 0) {
    g.insert(g.end(), {{L::kSharedGate, 1, c, sf, Split::kColumn}, {L::kSharedUp, 1, c, sf, Split::kColumn},
                       {L::kSharedDown, 1, sf, c, Split::kRow}});
  }
  return g;
}

// A group's shape on one rank of `layout`.
LinearGroup OnRank(LinearGroup g, const Layout& layout) {
  if (g.expert) g.count /= layout.ep;
  if (g.split == Split::kRow) g.in /= layout.tp;
  if (g.split == Split::kColumn) g.out /= layout.tp;
  return g;
}

// The kinds LoRA adapts; targets that name no linear of this model (Zen-Omni's cross_attn) adapt nothing,
// as CountLoraParams counts them.
std::vector<LoraLinear> AdaptedKinds(const LoraSpec& lora) {
  if (!lora.enabled) return {};
  std::vector<std::string> known;
  for (const auto& t : lora.targets) {
    if (ResolveLoraTarget(t).ok()) known.push_back(t);
  }
  return ResolveLoraTargets(known).value();
}

bool Contains(const std::vector<LoraLinear>& kinds, LoraLinear k) {
  return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

// Adapter parameters a token passes through, over the whole model: routed experts count top_k of them.
double ActiveLoraParams(const ModelSpec& s, const LoraSpec& lora) {
  const std::vector<LoraLinear> adapted = AdaptedKinds(lora);
  double n = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    for (const LinearGroup& g : LayerLinears(s, l)) {
      if (!Contains(adapted, g.kind)) continue;
      const double used = g.expert ? g.count * s.top_k / s.experts : g.count;
      n += used * lora.rank * (g.in + g.out);
    }
  }
  return n;
}

}  // namespace

std::string HumanCount(double v) {
  if (v >= 1e12) return absl::StrFormat("%.3gT", v / 1e12);
  if (v >= 1e9) return absl::StrFormat("%.3gB", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  return absl::StrFormat("%.4g", v);
}

absl::StatusOr<double> ParseMemorySize(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(std::string(end)));
  const std::pair<const char*, double> units[] = {{"mib", std::pow(2.0, 20)}, {"gib", std::pow(2.0, 30)},
                                                  {"tib", std::pow(2.0, 40)}, {"mb", 1e6},
                                                  {"gb", 1e9},                {"tb", 1e12}};
  for (const auto& [name, scale] : units) {
    if (end == begin || unit != name) continue;
    if (!(value > 0) || !std::isfinite(value)) break;
    return value * scale;
  }
  return BadInput(absl::StrCat("expected a positive size such as 80GiB or 80GB (units MiB, GiB, TiB, MB, GB, "
                               "TB), got \"", text, "\""));
}

namespace {

// The decoder as the tables above describe it: layers, embedding, final norm, head.
StageParams DecoderParams(const ModelSpec& s, const LoraSpec& lora, const Layout& layout, const StageRange& stage) {
  const std::vector<LoraLinear> adapted = AdaptedKinds(lora);
  const double c = s.hidden, table = double(s.vocab) * c / layout.tp;  // a vocab-parallel slice
  double norms = 0, linears = 0, adapters = 0;
  for (int64_t l = stage.first_layer; l < stage.end_layer; ++l) {
    norms += 2.0 * s.HeadDim() + 2.0 * c;  // q_norm, k_norm, the two layer norms: whole on every rank
    for (const LinearGroup& whole : LayerLinears(s, l)) {
      const LinearGroup g = OnRank(whole, layout);
      linears += g.count * g.in * g.out;
      if (Contains(adapted, g.kind)) adapters += g.count * lora.rank * (g.in + g.out);
    }
  }
  // The last stage's head: its own weight, or the tied table (a copy of stage 0's when pp > 1).
  const bool own_head = stage.has_head && (!s.tie_embeddings || !stage.has_embedding);
  const double outside = (stage.has_embedding ? table : 0) + (own_head ? table : 0) + (stage.has_head ? c : 0);
  StageParams p;
  p.matmul = linears + (stage.has_head ? table : 0);
  p.weights = norms + linears + outside + adapters;
  p.trainable = adapters;  // LoRA; full fine-tuning is set by the caller
  return p;
}

}  // namespace

StageParams CountStageParams(const ModelSpec& s, const LoraSpec& lora, const Layout& layout,
                             const StageRange& stage) {
  StageParams p = DecoderParams(s, lora, layout, stage);
  if (stage.has_embedding) {
    // What models/param_count.h counts beyond the decoder's tables (multimodal encoders and cross-modal
    // layers; such a model runs in one pipeline stage): held whole by stage 0's ranks, an upper bound.
    const StageParams decoder = DecoderParams(s, lora, Layout{}, StageRange::Whole(s));
    const double adapters = CountLoraParams(s, lora);
    const double rest = CountParams(s).total + adapters - decoder.weights, rest_adapters = adapters - decoder.trainable;
    p.weights += rest;
    p.matmul += rest - rest_adapters;
    p.trainable += rest_adapters;
  }
  if (!lora.enabled) p.trainable = p.weights;
  return p;
}

std::string MemoryOptions::Describe() const {
  std::vector<std::string> parts;
  if (bf16_params) parts.push_back("bf16 params");
  if (recompute != "none") {
    parts.push_back(absl::StrCat(recompute, " recompute",
                                 recompute == "full" && recompute_layers > 0 ? absl::StrCat(" of ", recompute_layers, " layers") : ""));
  }
  if (sequence_parallel) parts.push_back("SP");
  if (loss_chunk_tokens > 0) parts.push_back(absl::StrCat("loss chunks of ", loss_chunk_tokens));
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

MemoryOptions RecipeMemoryOptions(const Recipe& r) {
  MemoryOptions o;
  o.bf16_params = r.train.param_dtype == "bf16";
  o.recompute = r.train.recompute;
  o.recompute_layers = r.train.recompute_layers;
  o.sequence_parallel = r.parallel.sequence;
  o.loss_chunk_tokens = r.train.loss_chunk_tokens;
  return o;
}

namespace {

// Values (of the activation dtype) one decoder layer saves per token for its backward, as measured on
// CPU with torch's autograd (tests/cli/plan_matches_measured.sh: least squares over layers, seq_len,
// micro-batch, hidden, ffn and vocab at fp32; every coefficient within a few % of that fit):
//   kC   per hidden unit: the norms' inputs and outputs and the residual stream (replicated over tp,
//        split by tp under sequence parallelism);
//   kQ   per unit of q + k + v width: the projections, q_norm/k_norm, RoPE and the attention output;
//   kF   per unit of the MLP's width: gate, silu(gate), up and their product.
// A frozen linear (LoRA's base) saves no input for a weight gradient, hence the smaller LoRA figures.
struct LayerCoefficients {
  double c, q, f;
};
constexpr LayerCoefficients kLoraLayer{2.0, 4.0, 4.0}, kFullLayer{2.5, 4.5, 4.5};
// Per routed row (token x top_k) of an MoE layer, beyond the expert's kF x expert_ffn: the gathered
// input, the dispatched and combined rows and the weighted output; per token, the router's fp32
// logits, probabilities and their top-k. Each tp rank routes its own 1/tp of the tokens.
constexpr double kRoutedRowHidden = 4.0, kRouterPerExpert = 3.0;
// The cross entropy at its peak (the start of its backward) holds this many fp32 (tokens, V/tp) tensors:
// the logits, their fp32 view, softmax's exp, the gather's scatter and the summed gradient (measured).
constexpr double kLogitsCopies = 5.0;
constexpr double kBucketBytes = 32 << 20;  // parallel/data_parallel.h's gradient bucket

// Positions of a row one rank holds: T / parallel.context (context parallelism splits every row).
double RowShare(const Recipe& r) { return double(r.train.seq_len) / double(r.parallel.context); }

// Attention's query-key pairs of a micro-batch on one rank: B × T/cp queries against the whole row's T keys.
double QueryKeyPairs(const Recipe& r) { return double(r.train.micro_batch_size) * RowShare(r) * r.train.seq_len; }

double ActivationValueBytes(const Recipe& r, const MemoryOptions& o) {
  return r.train.dtype == "bf16" || o.bf16_params ? kBf16 : kFp32;
}

// Bytes of what selective recompute drops from one layer (docs/memory.md): the SDPA call's own saved
// tensors, the (B, 1, T, T) additive mask it converts the block-causal boolean mask into and its output
// (B, T, heads/tp x head_dim); under context parallelism T/cp queries against T keys.
double AttentionCoreBytes(const Recipe& r, const MemoryOptions& o, int64_t tp) {
  const double b = r.train.micro_batch_size;
  const double output = b * RowShare(r) * double(r.model.heads) * r.model.HeadDim() / tp;
  return (QueryKeyPairs(r) + output) * ActivationValueBytes(r, o);
}

// Bytes of a layer's input (B, T, C), all that full recompute keeps of it: the residual stream, fp32 unless
// the parameters are bf16 (autocast's residual adds keep fp32); split by tp only under sequence parallelism.
double LayerInputBytes(const Recipe& r, const MemoryOptions& o, int64_t tp) {
  const double tokens = RowShare(r) * r.train.micro_batch_size;
  return tokens * r.model.hidden / (o.sequence_parallel ? tp : 1) * (o.bf16_params ? kBf16 : kFp32);
}

}  // namespace

double ActivationBytesPerLayer(const Recipe& r, const MemoryOptions& o, int64_t layer, int64_t tp) {
  const ModelSpec& m = r.model;
  const LayerCoefficients k = r.lora.enabled ? kLoraLayer : kFullLayer;
  const double tokens = RowShare(r) * r.train.micro_batch_size;
  const double qkv = (m.heads + 2.0 * m.KvHeads()) * m.HeadDim() / tp;
  double per_token = k.c * m.hidden / (o.sequence_parallel ? tp : 1) + k.q * qkv;
  if (m.IsMoeLayer(layer)) {
    per_token += (m.top_k * (k.f * m.expert_ffn + kRoutedRowHidden * m.hidden) + kRouterPerExpert * m.experts) / tp +
                 k.f * m.shared_ffn / tp;
  } else {
    per_token += k.f * m.ffn / tp;
  }
  // Context parallelism: the other ranks' keys and values, all-gathered and saved for SDPA's backward.
  const double gathered_kv = double(r.train.micro_batch_size) * (r.train.seq_len - RowShare(r)) * 2.0 *
                             m.KvHeads() * m.HeadDim() / tp;
  // + the (B, 1, T, T) additive mask SDPA saves (measured: 4 bytes x B T^2 per layer at fp32; T/cp x T).
  return (tokens * per_token + gathered_kv + QueryKeyPairs(r)) * ActivationValueBytes(r, o);
}

int64_t InFlightMicroBatches(const std::string& schedule, int64_t stages, int64_t stage, int64_t micro) {
  // 1F1B: min(stages - stage - 1, micro) warm-up forwards, then one more before the first backward.
  return schedule == "gpipe" ? micro : std::min(stages - stage, micro);
}

namespace {

// Activations of one micro-batch held between its forward and backward, plus what the backward of one
// layer rebuilds at a time (recompute): none keeps every layer's; selective drops each layer's attention
// core and rebuilds one; full keeps only the inputs of the recomputed layers and rebuilds one whole layer.
struct StageActivations {
  double per_micro = 0;  // held per in-flight micro-batch
  double transient = 0;  // once, during a backward
};

StageActivations ActivationsOfStage(const Recipe& r, const MemoryOptions& o, const StageRange& range, int64_t tp) {
  StageActivations a;
  const double core = AttentionCoreBytes(r, o, tp);
  const int64_t layers = range.end_layer - range.first_layer;
  const int64_t recomputed = o.recompute == "full" ? (o.recompute_layers > 0 ? std::min(o.recompute_layers, layers) : layers) : 0;
  for (int64_t l = range.first_layer; l < range.end_layer; ++l) {
    const double whole = ActivationBytesPerLayer(r, o, l, tp);
    if (l - range.first_layer < recomputed) {
      a.per_micro += LayerInputBytes(r, o, tp);
      a.transient = std::max(a.transient, whole);
    } else if (o.recompute == "selective") {
      a.per_micro += whole - core;
      a.transient = std::max(a.transient, core);
    } else {
      a.per_micro += whole;
    }
  }
  // The (B, 1, T, T) boolean block-causal mask, built once per forward (T/cp x T under context parallelism).
  a.per_micro += QueryKeyPairs(r);
  return a;
}

// The cross entropy's fp32 (tokens, V/tp) tensors: kLogitsCopies of the micro-batch (or of one chunk) in
// its backward, and one saved copy for every other micro-batch in flight (none when chunked). Under
// sequence parallelism the loss takes the unchunked path (models/qwen3.cpp).
double LogitsBytes(const Recipe& r, const MemoryOptions& o, int64_t tp, double in_flight) {
  const double tokens = RowShare(r) * r.train.micro_batch_size;
  const double row = double(r.model.vocab) / tp * kFp32;
  if (o.loss_chunk_tokens > 0 && tokens > o.loss_chunk_tokens && !o.sequence_parallel) {
    return kLogitsCopies * double(o.loss_chunk_tokens) * row;
  }
  return (kLogitsCopies + in_flight - 1) * tokens * row;
}

}  // namespace

RankMemory StageMemory(const Recipe& recipe, const MemoryOptions& o, const Layout& layout, int64_t stage,
                       int64_t micro) {
  Recipe r = recipe;
  r.parallel.context = layout.cp;  // the activation terms read the row share T / cp from the recipe
  const StageRange range = ChooseStage(r, layout, stage);
  const StageParams p = CountStageParams(r.model, r.lora, layout, range);
  const double in_flight = InFlightMicroBatches(r.parallel.schedule, layout.pp, stage, micro);
  const double owners = r.parallel.zero == 1 ? layout.dp : 1;  // ZeRO-1: each dp rank owns ~1/dp
  const double storage = o.bf16_params ? kBf16 : kFp32;
  RankMemory m;
  m.weights = storage * p.weights;
  m.autocast_copies = r.train.dtype == "bf16" && !o.bf16_params ? kBf16 * p.matmul * in_flight : 0;
  m.gradients = storage * p.trainable;
  m.optimizer = (kAdamBytes + (o.bf16_params ? kFp32 : 0)) * p.trainable / owners;
  const StageActivations a = ActivationsOfStage(r, o, range, layout.tp);
  m.logits = range.has_head ? LogitsBytes(r, o, layout.tp, in_flight) : 0;
  // The layer a recomputing backward rebuilds comes after the loss's backward has freed the logits: it
  // raises the peak only by what it exceeds them (measured: tests/cli/plan_matches_measured.sh).
  m.activations = in_flight * a.per_micro + std::max(0.0, a.transient - m.logits);
  // Gradient sync over dp flattens one bucket at a time (torch::cat) beside the gradients, after the
  // backward has freed the activations and logits: it raises the peak only by what it exceeds them.
  const double bucket = layout.dp > 1 ? std::min(kBucketBytes, m.gradients) : 0;
  m.buffers = std::max(0.0, bucket - m.activations - m.logits);
  return m;
}

// Training FLOPs per token in the convention MFU is quoted in (PaLM, Chowdhery et al. 2022, app. B):
//   full fine-tuning  6 N + 12 L H Q T
//   LoRA              4 N + 6 N_lora + 12 L H Q T
// N: matmul parameters a token passes through (params_active less the input embedding, a lookup; a tied
// table counts once, as the head); L layers, H heads, Q head_dim, T seq_len: attention's score and value
// products, forward 4 L H Q T and backward twice that, not halved for the causal mask. Under LoRA the
// frozen weights' gradients (2 N of the 6 N) are skipped: forward 2 N + input gradients 2 N, and the
// adapters (N_lora, top_k experts' worth) pay all 6.
double FlopsPerToken(const Recipe& r, std::string* formula) {
  const ModelSpec& m = r.model;
  const ParamCounts counts = CountParams(m);
  const double n = counts.active - (m.tie_embeddings ? 0.0 : counts.embedding);
  const double attention = 12.0 * m.layers * m.heads * m.HeadDim() * double(r.train.seq_len);
  const double lora = ActiveLoraParams(m, r.lora);
  const double weights = r.lora.enabled ? 4.0 * n + 6.0 * lora : 6.0 * n;
  if (formula != nullptr) {
    *formula = r.lora.enabled ? absl::StrFormat("4 x %s + 6 x %s (LoRA) + 12 x %d x %d x %d x %d", HumanCount(n),
                                                HumanCount(lora), m.layers, m.heads, m.HeadDim(), r.train.seq_len)
                              : absl::StrFormat("6 x %s + 12 x %d x %d x %d x %d", HumanCount(n), m.layers, m.heads,
                                                m.HeadDim(), r.train.seq_len);
  }
  return weights + attention;
}

namespace {

Recipe WithLayout(Recipe r, const Layout& l) {
  r.parallel.tensor = l.tp;
  r.parallel.context = l.cp;
  r.parallel.pipeline = l.pp;
  r.parallel.expert = l.ep;
  return r;
}

// The fewest micro-batches a layout accepts: 1F1B needs one per stage.
int64_t FewestMicroBatches(const Recipe& r, const Layout& l) {
  return r.parallel.schedule == "1f1b" && l.pp > 1 ? l.pp : 1;
}

// The layout's rank with the most memory, over its stages, under options `o`.
LayoutPlan Evaluate(const Recipe& r, const ClusterSpec& cluster, const Layout& l, const std::string& batch_issue,
                    const MemoryOptions& o) {
  LayoutPlan plan;
  plan.layout = l;
  plan.options = o;
  plan.batch_issue = batch_issue;
  plan.micro_batches = batch_issue.empty() ? AccumulationSteps(r.train, l.dp) : FewestMicroBatches(r, l);
  for (int64_t stage = 0; stage < l.pp; ++stage) {
    const RankMemory m = StageMemory(r, o, l, stage, plan.micro_batches);
    if (stage > 0 && m.Total() <= plan.memory.Total()) continue;
    const StageRange range = ChooseStage(r, l, stage);
    plan.memory = m;
    plan.peak_stage = stage;
    plan.stage_layers = range.end_layer - range.first_layer;
    plan.in_flight = InFlightMicroBatches(r.parallel.schedule, l.pp, stage, plan.micro_batches);
  }
  plan.fits = plan.memory.Total() <= cluster.UsableBytes();
  plan.bubble = double(l.pp - 1) / double(plan.micro_batches + l.pp - 1);
  return plan;
}

// The options to try on a layout, cheapest first: as given; + chunked cross entropy (no compute cost);
// + sequence parallelism (tp > 1, text only; the same communication volume as tp alone; the loss then
// runs unchunked); + selective recompute;
// + full recompute (about a third more compute).
std::vector<MemoryOptions> OptionLadder(const MemoryOptions& given, const Layout& l, const Recipe& r) {
  std::vector<MemoryOptions> ladder = {given};
  MemoryOptions o = given;
  constexpr int64_t kChunkTokens = 1024;  // (1024, V/tp) fp32 tensors: 0.6 GiB each at Qwen3's vocab, tp = 1
  if (o.loss_chunk_tokens == 0 && r.train.seq_len * r.train.micro_batch_size > kChunkTokens) {
    o.loss_chunk_tokens = kChunkTokens;
    ladder.push_back(o);
  }
  if (!o.sequence_parallel && l.tp > 1 && r.train.seq_len % l.tp == 0 && !r.model.IsMultimodal()) {
    o.sequence_parallel = true;
    ladder.push_back(o);
  }
  if (o.recompute == "none") {
    o.recompute = "selective";
    ladder.push_back(o);
  }
  if (o.recompute != "full" || o.recompute_layers > 0) {
    o.recompute = "full";
    o.recompute_layers = 0;
    ladder.push_back(o);
  }
  return ladder;
}

LayoutPlan EvaluateSearched(const Recipe& r, const ClusterSpec& cluster, const Layout& l,
                            const std::string& batch_issue, const PlanSearch& search) {
  if (!search.search) return Evaluate(r, cluster, l, batch_issue, search.options);
  LayoutPlan last;
  for (const MemoryOptions& o : OptionLadder(search.options, l, r)) {
    last = Evaluate(r, cluster, l, batch_issue, o);
    if (last.fits) break;
  }
  return last;
}

// Context-parallel degrees worth trying: 1, and for a long row (or a recipe that sets parallel.context)
// the powers of two up to the world. Below kLongSequence one rank holds a row's activations comfortably
// beside tp and recompute, and cp's all-gathers would only cost bandwidth.
constexpr int64_t kLongSequence = 8192;
std::vector<int64_t> ContextDegrees(const Recipe& r, int64_t world) {
  std::vector<int64_t> degrees = {1};
  if (r.train.seq_len < kLongSequence && r.parallel.context == 1) return degrees;
  for (int64_t cp = 2; cp <= world; cp *= 2) degrees.push_back(cp);
  return degrees;
}

// The candidates before any check: tp inside a node, pp dividing the layers, ep dividing the experts and
// tp x cp x dp (the expert group folds over a stage's ranks).
std::vector<Layout> Candidates(const Recipe& r, const ClusterSpec& cluster, const PlanSearch& search) {
  const ModelSpec& m = r.model;
  std::vector<Layout> out;
  const int64_t world = cluster.World();
  for (int64_t tp : {1, 2, 4, 8}) {
    if (cluster.gpus_per_node % tp != 0) continue;
    for (int64_t cp : ContextDegrees(r, world)) {
      for (int64_t pp = 1; pp <= m.layers; ++pp) {
        if (m.layers % pp != 0 || world % (tp * cp * pp) != 0) continue;
        const int64_t dp = world / (tp * cp * pp);
        const int64_t expert_ranks = tp * cp * dp;
        for (int64_t ep = 1; ep <= expert_ranks; ++ep) {
          if (expert_ranks % ep != 0 || (ep > 1 && (!m.IsMoe() || m.experts % ep != 0))) continue;
          const Layout l{tp, pp, dp, ep, cp};
          if (search.layout && (search.layout->tp != tp || search.layout->pp != pp || search.layout->ep != ep ||
                                search.layout->cp != cp)) {
            continue;
          }
          out.push_back(l);
        }
      }
    }
  }
  return out;
}

// Fitting layouts the trainer accepts, fewest model-parallel ranks then most dp (then fewer stages, the
// smaller bubble); then fitting ones that need another global batch; then the rest, smallest first.
bool Better(const LayoutPlan& a, const LayoutPlan& b) {
  auto group = [](const LayoutPlan& p) { return !p.fits ? 2 : p.batch_issue.empty() ? 0 : 1; };
  if (group(a) != group(b)) return group(a) < group(b);
  if (group(a) == 2) return a.memory.Total() < b.memory.Total();
  if (a.ModelParallel() != b.ModelParallel()) return a.ModelParallel() < b.ModelParallel();
  if (a.layout.cp != b.layout.cp) return a.layout.cp < b.layout.cp;  // cp's all-gathers only when needed
  if (a.layout.dp != b.layout.dp) return a.layout.dp > b.layout.dp;
  if (a.layout.pp != b.layout.pp) return a.layout.pp < b.layout.pp;
  return a.memory.Total() < b.memory.Total();
}

}  // namespace

const LayoutPlan* Plan::Best() const {
  if (layouts.empty() || !layouts.front().fits || !layouts.front().batch_issue.empty()) return nullptr;
  return &layouts.front();
}

Plan MakePlan(const Recipe& r, const ClusterSpec& cluster, std::optional<double> dataset_tokens,
              const PlanSearch& search) {
  Plan plan;
  plan.cluster = cluster;
  plan.params = CountParams(r.model);
  plan.params_trainable = r.lora.enabled ? CountLoraParams(r.model, r.lora) : plan.params.total;
  for (const Layout& l : Candidates(r, cluster, search)) {
    const Layout& checked = l;
    // The shapes alone: the same layout with a global batch it certainly accepts.
    Recipe shapes_only = WithLayout(r, checked);
    shapes_only.train.global_batch_size = r.train.micro_batch_size * l.dp * FewestMicroBatches(r, l);
    const absl::StatusOr<Layout> shapes = CheckLayout(shapes_only, cluster.World());
    if (!shapes.ok()) {
      plan.rejected.push_back({l, std::string(shapes.status().message())});
      continue;
    }
    const absl::StatusOr<Layout> as_is = CheckLayout(WithLayout(r, checked), cluster.World());
    plan.layouts.push_back(
        EvaluateSearched(r, cluster, l, as_is.ok() ? "" : std::string(as_is.status().message()), search));
  }
  std::stable_sort(plan.layouts.begin(), plan.layouts.end(), Better);
  plan.tokens_per_step = TokensPerStep(r.train);
  plan.total_steps = TotalSteps(r.train, dataset_tokens);
  plan.tokens = double(plan.total_steps) * double(plan.tokens_per_step);
  plan.flops_per_token = FlopsPerToken(r, &plan.flops_formula);
  plan.seconds = plan.tokens * plan.flops_per_token / (cluster.World() * cluster.peak_flops * cluster.mfu);
  return plan;
}

}  // namespace zen
