// This process's place in the job, read from the launcher's environment (OpenMPI or SLURM), and the
// intra-op thread count that follows from it.
#pragma once

#include <cstdint>

#include "core/recipe.h"

namespace zen {

struct WorldInfo {
  int64_t rank = 0;
  int64_t size = 1;
  int64_t local_rank = 0;  // index among the ranks on this node
  int64_t local_size = 1;  // ranks on this node
};

// OMPI_COMM_WORLD_* under mpirun, SLURM_* under srun; a single process otherwise.
WorldInfo WorldFromEnvironment();

// train.threads when set, else OMP_NUM_THREADS when set (a positive count), else the node's cores divided
// by the ranks on the node (at least 1).
int64_t IntraOpThreads(const TrainSpec& train, const WorldInfo& world);

}  // namespace zen
