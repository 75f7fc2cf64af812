// The main() of every multi-rank GoogleTest binary: MPI starts before any test, only rank 0 prints
// results, but every rank's failures count (the job's exit code is the max over ranks).
#include <mpi.h>
#include <gtest/gtest.h>

#include "parallel/communicator.h"   // defines: MpiWorld, FinalizeMpi

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  zen::MpiWorld(/*timeout_s=*/60);  // MPI_Init before any test (each test file keeps its own world)
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  zen::FinalizeMpi();
  return any_failed;
}
