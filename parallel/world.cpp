#include "parallel/world.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace zen {
namespace {

// The first of `names` that is set, as an integer.
int64_t FirstSet(std::initializer_list<const char*> names, int64_t fallback) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return std::atoll(value);
  }
  return fallback;
}

}  // namespace

WorldInfo WorldFromEnvironment() {
  WorldInfo w;
  w.rank = FirstSet({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"}, 0);
  w.size = FirstSet({"OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS"}, 1);
  w.local_rank = FirstSet({"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}, 0);
  w.local_size = FirstSet({"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"}, 1);
  return w;
}

int64_t IntraOpThreads(const TrainSpec& train, const WorldInfo& world) {
  if (train.threads > 0) return train.threads;
  // "4" or OpenMP's nested list "4,2", whose first entry is the outer level's.
  if (const int64_t omp = FirstSet({"OMP_NUM_THREADS"}, 0); omp > 0) return omp;
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  return std::max<int64_t>(1, cores / std::max<int64_t>(1, world.local_size));
}

}  // namespace zen
