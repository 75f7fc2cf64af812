// The groups a model's layers communicate over, handed to the model as one bundle (Megatron-Core's
// ProcessGroupCollection) rather than one struct per kind threaded separately: tensor parallel (heads,
// FFN width and vocab split), context parallel (the sequence split: size 1 until context parallelism
// fills it) and expert parallel (which experts a rank holds). parallel/grid.h builds it
// (Grid::GroupsForModel); with every group of size 1 the model is one process's.
#pragma once

#include <cstdint>

#include "parallel/expert_dispatch.h"  // defines: EpGroup
#include "parallel/rank_group.h"       // defines: RankGroup
#include "parallel/tp_group.h"         // defines: TpGroup

namespace zen {

class Communicator;

// The ranks that hold consecutive chunks of one sequence.
using CpGroup = RankGroup;

struct ModelGroups {
  TpGroup tp;
  CpGroup cp;
  EpGroup ep;
};

}  // namespace zen
