// A group of ranks a layer communicates over, seen from one rank: the expert-parallel group (which
// experts a rank holds) and the context-parallel group (which chunks of a sequence) have this shape.
// The tensor-parallel group (parallel/tp_group.h) adds sharding helpers and the replicated flag.
#pragma once

#include <cstdint>

namespace zen {

class Communicator;  // parallel/communicator.h

struct RankGroup {
  Communicator* comm = nullptr;  // null only when size == 1
  int64_t rank = 0;              // this rank's index in the group
  int64_t size = 1;
};

}  // namespace zen
