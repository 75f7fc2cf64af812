#include "parallel/grid.h"

#include <algorithm>

#include "parallel/pipeline_split.h"

namespace zen {
namespace {

// BadInput unless `n` is divisible by `degree`: "parallel.tensor=3: model.heads (16) is not divisible by 3".
absl::Status Divides(int64_t degree, const char* degree_key, int64_t n, const char* what) {
  if (n % degree == 0) return absl::OkStatus();
  return BadInput(absl::StrCat(degree_key, "=", degree, ": ", what, " (", n, ") is not divisible by ", degree));
}

// Zen-Omni's encoders split their heads and MLP width like the decoder. Their features are consumed on the
// first stage and attended to by cross-modal layers anywhere, and the schedule sends only the hidden
// states between stages, so a multimodal model runs in one pipeline stage for now.
absl::Status CheckEncoderLayout(const ModelSpec& m, const Layout& l) {
  if (m.vision.layers > 0) {
    ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.vision.heads, "model.vision.heads"));
    ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.vision.ffn, "model.vision.ffn"));
  }
  if (m.audio.layers > 0) {
    ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.audio.heads, "model.audio.heads"));
    ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.audio.ffn, "model.audio.ffn"));
  }
  if (m.IsMultimodal() && l.pp > 1) {
    return BadInput(absl::StrCat("parallel.pipeline=", l.pp, ": a multimodal model (model.vision.layers or "
                                 "model.audio.layers > 0) does not yet send its media features between pipeline "
                                 "stages; use parallel.pipeline=1 (tensor, expert and data parallelism work)"));
  }
  return absl::OkStatus();
}

// Sequence parallelism splits the sequence over the tp group, and the encoders' features replace embeddings
// that would already be split, so it needs tp > 1, a divisible train.seq_len, and a text-only model.
absl::Status CheckSequenceParallel(const Recipe& r) {
  if (!r.parallel.sequence) return absl::OkStatus();
  const int64_t tp = r.parallel.tensor;
  if (tp < 2) {
    return BadInput(absl::StrCat("parallel.sequence=true needs parallel.tensor > 1 (it splits the sequence over the "
                                 "tensor-parallel group), got parallel.tensor=", tp));
  }
  // Each rank's (T / cp) positions are split over tp (context parallelism cuts the row first).
  const int64_t cp = r.parallel.context;
  if (r.train.seq_len % (cp * tp) != 0) {
    const std::string by = cp == 1 ? absl::StrCat("parallel.tensor (", tp, ")")
                                   : absl::StrCat("parallel.context × parallel.tensor (", cp, " × ", tp, ")");
    return BadInput(
        absl::StrCat("parallel.sequence=true: train.seq_len (", r.train.seq_len, ") is not divisible by ", by));
  }
  if (r.model.IsMultimodal()) {
    return BadInput("parallel.sequence=true: a multimodal model (model.vision.layers or model.audio.layers > 0) "
                    "places its media features in the whole sequence; sequence parallelism is text-only for now");
  }
  return absl::OkStatus();
}

// Context parallelism cuts every row into 2 × parallel.context chunks (parallel/context_parallel.h) and
// splits only attention across them: every token mixer must be attention, and a multimodal model's media
// features and cross-attention read the whole row, so those are refused.
absl::Status CheckContextParallel(const Recipe& r) {
  const int64_t cp = r.parallel.context;
  if (cp == 1) return absl::OkStatus();
  const std::string key = absl::StrCat("parallel.context=", cp);
  if (r.train.seq_len % (2 * cp) != 0) {
    return BadInput(absl::StrCat(key, ": train.seq_len (", r.train.seq_len, ") is not divisible by 2 × ", cp,
                                 " (each rank holds two of the row's 2 × parallel.context chunks)"));
  }
  if (r.model.IsMultimodal()) {
    return BadInput(absl::StrCat(key, ": a multimodal model (model.vision.layers or model.audio.layers > 0) places "
                                 "media features and cross-attention over the whole sequence; context parallelism "
                                 "is text-only for now"));
  }
  if (r.moe.balance == "global_batch") {
    return BadInput(absl::StrCat(key, ": moe.balance=global_batch with context parallelism is not tested yet "
                                 "(its token counts per step would span cp ranks); use moe.balance=micro_batch"));
  }
  for (int64_t l = 0; l < r.model.layers; ++l) {
    const std::string mixer = r.model.MixerOf(l);
    if (mixer == "attention") continue;
    return BadInput(absl::StrCat(key, ": layer ", l, "'s token mixer is ", mixer, " (model.mixers); context "
                                 "parallelism splits only attention across ranks, a recurrent mixer would need "
                                 "its state passed along the cp ranks"));
  }
  return absl::OkStatus();
}

// tp, pp and ep as the recipe sets them (dp is left for the world size to decide).
Layout RecipeDegrees(const Recipe& r) {
  Layout l;
  l.tp = r.parallel.tensor;
  l.cp = r.parallel.context;
  l.pp = r.parallel.pipeline;
  l.ep = r.parallel.expert;
  return l;
}

}  // namespace

absl::Status CheckLayoutShapes(const Recipe& r) {
  const Layout l = RecipeDegrees(r);
  const ModelSpec& m = r.model;
  ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.heads, "model.heads"));
  ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.KvHeads(), "model.kv_heads"));
  ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.vocab, "model.vocab"));
  if (!m.IsMoe() || m.moe_every > 1) ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.ffn, "model.ffn"));
  if (m.shared_ffn > 0) ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.shared_ffn, "model.shared_ffn"));
  if (std::find(m.mixers.begin(), m.mixers.end(), "linear_attention") != m.mixers.end()) {
    // Gated DeltaNet splits by key-head group (a key head and the value heads that read it).
    ZEN_RETURN_IF_ERROR(Divides(l.tp, "parallel.tensor", m.linear_num_key_heads, "model.linear_num_key_heads"));
  }
  ZEN_RETURN_IF_ERROR(CheckEncoderLayout(m, l));
  ZEN_RETURN_IF_ERROR(CheckSequenceParallel(r));
  ZEN_RETURN_IF_ERROR(CheckContextParallel(r));
  if (m.layers < l.pp) {
    return BadInput(absl::StrCat("parallel.pipeline=", l.pp, ": model.layers (", m.layers,
                                 ") is fewer than the pipeline stages"));
  }
  if (l.ep > 1) {
    if (!m.IsMoe()) return BadInput(absl::StrCat("parallel.expert=", l.ep, ": the model has no experts"));
    ZEN_RETURN_IF_ERROR(Divides(l.ep, "parallel.expert", m.experts, "model.experts"));
    if (r.parallel.zero == 1) {
      return BadInput("parallel.zero=1 with parallel.expert > 1: ZeRO-1 does not yet shard the experts' optimizer "
                      "state over the expert-data-parallel group; use one or the other");
    }
  }
  if (!r.parallel.stage_layers.empty()) {
    ZEN_RETURN_IF_ERROR(StagesFromCounts(r.parallel.stage_layers, m.layers, l.pp).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<Layout> CheckLayout(const Recipe& r, int64_t world_size) {
  Layout l = RecipeDegrees(r);
  if (world_size % (l.tp * l.cp * l.pp) != 0) {
    return BadInput(absl::StrCat("parallel.tensor × parallel.context × parallel.pipeline = ", l.tp * l.cp * l.pp,
                                 " does not divide the world size ", world_size, " (ranks launched)"));
  }
  l.dp = world_size / (l.tp * l.cp * l.pp);
  ZEN_RETURN_IF_ERROR(CheckLayoutShapes(r));
  // The expert group folds over a stage's tp × cp × dp ranks (Megatron-Core's MoE parallel folding).
  ZEN_RETURN_IF_ERROR(Divides(l.ep, "parallel.expert", l.tp * l.cp * l.dp,
                              "the ranks of a pipeline stage (tensor × context × data-parallel = world / pipeline)"));
  const int64_t dp_batch = r.train.micro_batch_size * l.dp;
  if (r.train.global_batch_size % dp_batch != 0) {
    return BadInput(absl::StrCat("train.global_batch_size (", r.train.global_batch_size,
                                 ") must be a multiple of train.micro_batch_size × data-parallel size (",
                                 r.train.micro_batch_size, " × ", l.dp, ")"));
  }
  const int64_t micro_batches = r.train.global_batch_size / dp_batch;
  if (l.pp > 1 && r.parallel.schedule == "1f1b" && micro_batches < l.pp) {
    return BadInput(absl::StrCat("parallel.schedule=1f1b with parallel.pipeline=", l.pp, ": a step has only ",
                                 micro_batches, " micro-batches per pipeline (train.global_batch_size ",
                                 r.train.global_batch_size, " / (train.micro_batch_size ", r.train.micro_batch_size,
                                 " × data-parallel ", l.dp, ")); 1F1B needs at least one per stage: raise "
                                 "train.global_batch_size or lower train.micro_batch_size"));
  }
  return l;
}

Coordinates Locate(const Layout& l, int64_t rank) {
  Coordinates c;
  c.tp = rank % l.tp;
  c.cp = (rank / l.tp) % l.cp;
  c.dp = (rank / (l.tp * l.cp)) % l.dp;
  c.pp = rank / (l.tp * l.cp * l.dp);
  const int64_t in_stage = rank % (l.tp * l.cp * l.dp);  // tp fastest, then cp, then dp
  c.ep = in_stage % l.ep;
  c.edp = in_stage / l.ep;
  return c;
}

absl::StatusOr<std::unique_ptr<Grid>> Grid::Build(const Recipe& recipe, Communicator& world) {
  ZEN_ASSIGN_OR_RETURN(Layout layout, CheckLayout(recipe, world.size()));
  std::unique_ptr<Grid> g(new Grid(world, layout));
  const Coordinates c = Locate(layout, world.rank());
  g->coords_ = c;
  g->sequence_parallel_ = recipe.parallel.sequence;
  // Each split: the color names the group (all the other coordinates), the key orders ranks inside it.
  // With cp = 1, c.cp = 0 and every color is what it was before cp existed.
  const int64_t tp = layout.tp, cp = layout.cp, dp = layout.dp;
  g->tp_ = world.Split(c.cp + cp * (c.dp + dp * c.pp), c.tp, "tp");
  g->dp_ = world.Split(c.tp + tp * (c.cp + cp * c.pp), c.dp, "dp");
  g->pp_ = world.Split(c.tp + tp * (c.cp + cp * c.dp), c.pp, "pp");
  // Expert groups: ep consecutive ranks of a stage; expert-data-parallel: the stage's ranks with the same ep.
  const int64_t expert_groups = tp * cp * dp / layout.ep;
  g->ep_ = world.Split(c.edp + expert_groups * c.pp, c.ep, "ep");
  g->edp_ = world.Split(c.ep + layout.ep * c.pp, c.edp, "edp");
  if (cp > 1) {
    g->cp_ = world.Split(c.tp + tp * (c.dp + dp * c.pp), c.cp, "cp");
    g->dp_cp_ = world.Split(c.tp + tp * c.pp, c.cp + cp * c.dp, "dp_cp");
  }
  return g;
}

}  // namespace zen
