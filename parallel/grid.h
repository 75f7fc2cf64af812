// The rank grid: every rank's coordinates (tp, cp, dp, pp, and ep × edp folded over tp × cp × dp) in Megatron-Core's
// order (tp fastest, pp slowest), one communicator per dimension, and the groups named by what they are
// for: gradient sync, loss normalisation, the expert groups, and the bundle the model is built with.
// CheckLayout checks the degrees against the world size and the model's shapes before any rank talks to
// another (the layers' own TORCH_CHECKs only guard direct use).
#pragma once

#include <memory>

#include "core/recipe.h"
#include "parallel/communicator.h"
#include "parallel/model_groups.h"  // defines: ModelGroups, CpGroup
#include "parallel/tp_group.h"

namespace zen {

// cp (context parallelism: one sequence's chunks on cp ranks) is 1 until the context issue fills it. It
// comes last so that brace-initialised layouts ({tp, pp, dp, ep}) keep their meaning.
struct Layout {
  int64_t tp = 1, pp = 1, dp = 1, ep = 1, cp = 1;
  int64_t world() const { return tp * cp * pp * dp; }
};

// Where one rank sits. rank = tp + tp_size * (cp + cp_size * (dp + dp_size * pp)). The experts fold over
// a stage's tp × cp × dp ranks (Megatron-Core's MoE parallel folding): with f = rank mod (tp × cp × dp),
// ep = f mod ep_size and edp = f / ep_size, so an expert group is ep_size consecutive ranks of a stage,
// tp ranks first (docs/moe.md).
struct Coordinates {
  int64_t tp = 0, pp = 0, dp = 0, ep = 0, edp = 0, cp = 0;
};

// Derives dp = world / (tp × cp × pp) and checks every divisibility the model needs, before any compute.
// A bad layout is BadInput explaining which key and which shape disagree. Needs only the recipe and the
// world size (no communicator), so a command may check a layout without launching it.
absl::StatusOr<Layout> CheckLayout(const Recipe& recipe, int64_t world_size);

// The part of CheckLayout that needs no world size (heads, kv heads, vocab and widths by tp; layers and
// stage_layers by pp; experts by ep), so that `zen validate` finds what `zen train` would refuse.
absl::Status CheckLayoutShapes(const Recipe& recipe);

Coordinates Locate(const Layout& layout, int64_t rank);

class Grid {
 public:
  // Collective over `world`: every rank calls it with the same recipe.
  static absl::StatusOr<std::unique_ptr<Grid>> Build(const Recipe& recipe, Communicator& world);

  const Layout& layout() const { return layout_; }
  const Coordinates& coords() const { return coords_; }
  Communicator& world() { return world_; }
  Communicator& tp() { return *tp_; }
  Communicator& dp() { return *dp_; }
  Communicator& pp() { return *pp_; }
  Communicator& ep() { return *ep_; }
  Communicator& edp() { return *edp_; }  // ranks holding the same experts: expert gradients average here
  TpGroup TensorGroup() {
    TpGroup g{tp_.get(), coords_.tp, layout_.tp};
    g.sequence_parallel = sequence_parallel_;  // parallel.sequence
    return g;
  }
  CpGroup ContextGroup() { return CpGroup{cp_.get(), coords_.cp, layout_.cp}; }
  // What the model is built with: its tensor-, context- and expert-parallel groups.
  ModelGroups GroupsForModel() {
    return ModelGroups{TensorGroup(), ContextGroup(), EpGroup{ep_.get(), coords_.ep, layout_.ep}};
  }

  // Groups by purpose. Every rank holding a different part of the batch (dp, and with context
  // parallelism dp × cp, Megatron-Core's dp_cp) sums the non-expert gradients and normalises the loss
  // over the same ranks.
  Communicator& GradSyncGroup() { return dp_cp_ ? *dp_cp_ : *dp_; }
  Communicator& LossGroup() { return GradSyncGroup(); }
  // ZeRO-1 shards the optimizer state over dp (its owners are dp ranks, parallel/zero.h).
  Communicator& OptimizerShardGroup() { return *dp_; }
  Communicator& ExpertGroup() { return *ep_; }           // the ranks whose experts together make all of them
  Communicator& ExpertGradSyncGroup() { return *edp_; }  // the ranks holding the same experts

  // Bytes this rank has sent over all its groups so far (metrics.jsonl's comm_bytes per step).
  int64_t BytesSent() const {
    int64_t bytes = world_.bytes_sent() + tp_->bytes_sent() + dp_->bytes_sent() + pp_->bytes_sent() +
                    ep_->bytes_sent() + edp_->bytes_sent();
    if (cp_) bytes += cp_->bytes_sent();
    if (dp_cp_) bytes += dp_cp_->bytes_sent();
    return bytes;
  }

 private:
  Grid(Communicator& world, Layout layout) : world_(world), layout_(layout) {}

  Communicator& world_;
  Layout layout_;
  Coordinates coords_;
  bool sequence_parallel_ = false;
  std::unique_ptr<Communicator> tp_, dp_, pp_, ep_, edp_;
  std::unique_ptr<Communicator> cp_, dp_cp_;  // only when cp > 1: a group of one needs no communicator
};

}  // namespace zen
