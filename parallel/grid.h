// The rank grid: every rank's coordinates (tp, dp, pp, and ep × edp within dp) in Megatron-Core's order
// (tp fastest, pp slowest), and one communicator per dimension. The only place where parallel degrees
// are checked against the world size and the model's shapes.
#pragma once

#include <memory>

#include "core/recipe.h"
#include "parallel/communicator.h"
#include "parallel/tp_group.h"

namespace zen {

struct Layout {
  int64_t tp = 1, pp = 1, dp = 1, ep = 1;
  int64_t world() const { return tp * pp * dp; }
};

// Where one rank sits. rank = tp + tp_size * (dp + dp_size * pp); within dp, ep is the fast index:
// dp = edp * ep_size + ep, so an expert group is ep_size consecutive data-parallel ranks.
struct Coordinates {
  int64_t tp = 0, pp = 0, dp = 0, ep = 0, edp = 0;
};

// Derives dp = world / (tp × pp) and checks every divisibility the model needs, before any compute.
// A bad layout is BadInput explaining which key and which shape disagree.
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
  TpGroup TensorGroup() { return TpGroup{tp_.get(), coords_.tp, layout_.tp}; }
  // Bytes this rank has sent over all its groups so far (metrics.jsonl's comm_bytes per step).
  int64_t BytesSent() const {
    return world_.bytes_sent() + tp_->bytes_sent() + dp_->bytes_sent() + pp_->bytes_sent() + ep_->bytes_sent() +
           edp_->bytes_sent();
  }

 private:
  Grid(Communicator& world, Layout layout) : world_(world), layout_(layout) {}

  Communicator& world_;
  Layout layout_;
  Coordinates coords_;
  std::unique_ptr<Communicator> tp_, dp_, pp_, ep_, edp_;
};

}  // namespace zen
