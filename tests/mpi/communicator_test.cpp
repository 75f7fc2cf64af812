// Collectives of the MPI backend (and NCCL where a GPU exists) on known inputs, run under mpirun with
// 2 or 4 ranks. Every rank checks its own result; any failure fails the job.
#include <mpi.h>

#include <numeric>

#include <gtest/gtest.h>

#include "core/recipe.h"
#include "parallel/grid.h"
#include "parallel/mpi_communicator.h"
#include "parallel/nccl_communicator.h"

namespace zen {
namespace {

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

TEST(MpiCommunicator, AllReduceSumAndMaxCombineEveryRank) {
  Communicator& w = World();
  torch::Tensor x = torch::full({3}, static_cast<float>(w.rank() + 1));
  w.AllReduceSum(x);
  const float n = static_cast<float>(w.size());
  EXPECT_TRUE(torch::allclose(x, torch::full({3}, n * (n + 1) / 2)));
  torch::Tensor m = torch::tensor({static_cast<double>(w.rank())});
  w.AllReduceMax(m);
  EXPECT_EQ(m.item<double>(), w.size() - 1);
  torch::Tensor b = torch::full({2}, 1.5, torch::kBFloat16);  // reduced in fp32, returned as bf16
  w.AllReduceSum(b);
  EXPECT_EQ(b.scalar_type(), torch::kBFloat16);
  EXPECT_FLOAT_EQ(b[0].item<float>(), 1.5f * n);
}

TEST(MpiCommunicator, AllGatherConcatenatesInRankOrder) {
  Communicator& w = World();
  torch::Tensor mine = torch::full({2, 3}, static_cast<int64_t>(w.rank()), torch::kLong);
  torch::Tensor all = w.AllGather(mine);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{2 * w.size(), 3}));
  for (int64_t r = 0; r < w.size(); ++r) EXPECT_TRUE(all.narrow(0, 2 * r, 2).eq(r).all().item<bool>());
}

TEST(MpiCommunicator, ReduceScatterKeepsThisRanksRowsOfTheSum) {
  Communicator& w = World();
  torch::Tensor x = torch::arange(w.size() * 2, torch::kFloat).view({w.size() * 2, 1}) + w.rank();
  torch::Tensor mine = w.ReduceScatter(x);  // rows 2r, 2r+1 summed over ranks
  ASSERT_EQ(mine.size(0), 2);
  const float ranks_sum = w.size() * (w.size() - 1) / 2.0f;
  EXPECT_FLOAT_EQ(mine[0][0].item<float>(), w.size() * (2.0f * w.rank()) + ranks_sum);
  EXPECT_FLOAT_EQ(mine[1][0].item<float>(), w.size() * (2.0f * w.rank() + 1) + ranks_sum);
}

TEST(MpiCommunicator, AllToAllMovesUnevenRowsIncludingNone) {
  Communicator& w = World();
  // Rank s sends (s + r) % 3 rows to rank r, each row filled with 100 s + r.
  std::vector<int64_t> send(w.size()), recv(w.size());
  std::vector<torch::Tensor> rows;
  for (int64_t r = 0; r < w.size(); ++r) {
    send[r] = (w.rank() + r) % 3;
    recv[r] = (r + w.rank()) % 3;
    rows.push_back(torch::full({send[r], 4}, static_cast<float>(100 * w.rank() + r)));
  }
  torch::Tensor got = w.AllToAll(torch::cat(rows), send, recv);
  int64_t offset = 0;
  for (int64_t s = 0; s < w.size(); ++s) {
    torch::Tensor from_s = got.narrow(0, offset, recv[s]);
    EXPECT_TRUE(from_s.eq(static_cast<float>(100 * s + w.rank())).all().item<bool>()) << "from rank " << s;
    offset += recv[s];
  }
  EXPECT_EQ(offset, got.size(0));
}

TEST(MpiCommunicator, BroadcastAndPointToPointDeliverTheRootsData) {
  Communicator& w = World();
  torch::Tensor x = w.rank() == 1 ? torch::arange(5, torch::kFloat) : torch::zeros({5});
  w.Broadcast(x, /*root=*/1);
  EXPECT_TRUE(torch::equal(x, torch::arange(5, torch::kFloat)));
  // A ring: each rank sends its rank to the next and receives from the previous.
  const int64_t next = (w.rank() + 1) % w.size(), prev = (w.rank() + w.size() - 1) % w.size();
  torch::Tensor got = torch::zeros({1}, torch::kLong);
  if (w.rank() % 2 == 0) {
    w.Send(torch::tensor({w.rank()}), next);
    w.Recv(got, prev);
  } else {
    w.Recv(got, prev);
    w.Send(torch::tensor({w.rank()}), next);
  }
  EXPECT_EQ(got.item<int64_t>(), prev);
}

// Every rank sends 8 MiB to the next while receiving from the previous: with blocking sends above MPI's
// eager limit this ring would deadlock; SendRecv keeps both halves in flight (the pipeline steady state).
TEST(MpiCommunicator, SendRecvExchangesLargeTensorsAroundARingWithoutDeadlock) {
  Communicator& w = World();
  const int64_t next = (w.rank() + 1) % w.size(), prev = (w.rank() + w.size() - 1) % w.size();
  torch::Tensor mine = torch::full({2 * 1024 * 1024}, static_cast<float>(w.rank()));
  torch::Tensor got = torch::empty_like(mine);
  w.SendRecv(mine, next, got, prev);
  EXPECT_TRUE(got.eq(static_cast<float>(prev)).all().item<bool>());
  // Either half alone.
  torch::Tensor none;
  if (w.rank() == 0) w.SendRecv(mine, 1, none, -1);
  if (w.rank() == 1) {
    torch::Tensor from_zero = torch::empty_like(mine);
    w.SendRecv(none, -1, from_zero, 0);
    EXPECT_TRUE(from_zero.eq(0.0f).all().item<bool>());
  }
}

TEST(Grid, GroupsHoldTheRanksMegatronOrderPutsThere) {
  Communicator& w = World();
  if (w.size() != 4) GTEST_SKIP() << "this layout test needs 4 ranks, the job has " << w.size();
  Recipe r;
  r.model.layers = 2, r.model.hidden = 64, r.model.heads = 4, r.model.ffn = 128, r.model.vocab = 512;
  r.parallel.tensor = 2;
  r.train.global_batch_size = 4;
  auto grid = Grid::Build(r, w);
  ASSERT_TRUE(grid.ok()) << grid.status();
  // tp fastest: ranks {0,1} and {2,3} are tp groups; {0,2} and {1,3} are dp groups.
  torch::Tensor tp_members = (*grid)->tp().AllGather(torch::tensor({w.rank()}));
  torch::Tensor dp_members = (*grid)->dp().AllGather(torch::tensor({w.rank()}));
  const int64_t tp_first = w.rank() - w.rank() % 2;
  EXPECT_TRUE(torch::equal(tp_members, torch::tensor({tp_first, tp_first + 1})));
  EXPECT_TRUE(torch::equal(dp_members, torch::tensor({w.rank() % 2, w.rank() % 2 + 2})));
  EXPECT_EQ((*grid)->coords().tp, w.rank() % 2);
  EXPECT_EQ((*grid)->coords().dp, w.rank() / 2);
}

// NCCL before 2.30 refuses two ranks on one GPU (../shared/GPU.md); the reason, or "" when NCCL can run here.
std::string WhyNcclCannotRun(int64_t world_size) {
  if (!torch::cuda::is_available()) {
    return "no CUDA device here: the NCCL backend (NCCL " + NcclCommunicator::Version() +
           ") is compiled and linked but runs only on a GPU machine (bench/gpu/)";
  }
  if (world_size > torch::cuda::device_count() && NcclCommunicator::VersionCode() < 23000) {
    return std::to_string(world_size) + " ranks share " + std::to_string(torch::cuda::device_count()) +
           " GPU(s) and NCCL " + NcclCommunicator::Version() + " (< 2.30) refuses two ranks on one GPU";
  }
  return "";
}

// Every collective of the NCCL backend on CUDA tensors gives what the MPI backend gives on the same
// (CPU) inputs: sums, max, gathers, reduce-scatter, uneven all-to-all, broadcast and a ring exchange.
TEST(NcclCommunicator, EveryCollectiveAgreesWithMpiOnTheSameInputs) {
  Communicator& w = World();
  const std::string why = WhyNcclCannotRun(w.size());
  if (!why.empty()) GTEST_SKIP() << why;
  const int device = static_cast<int>(w.rank() % torch::cuda::device_count());
  auto nccl = NcclCommunicator::Create(std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, "nccl-world", 60), device);
  const torch::Device gpu(torch::kCUDA, device);
  const int64_t n = w.size(), r = w.rank();
  torch::manual_seed(1234 + r);
  auto same = [&](const torch::Tensor& on_gpu, const torch::Tensor& on_cpu, const char* what) {
    EXPECT_TRUE(torch::allclose(on_gpu.cpu(), on_cpu, 1e-5, 1e-5)) << what;
  };

  torch::Tensor sum_cpu = torch::randn({1000}), sum_gpu = sum_cpu.to(gpu);
  w.AllReduceSum(sum_cpu);
  nccl->AllReduceSum(sum_gpu);
  same(sum_gpu, sum_cpu, "AllReduceSum fp32");

  torch::Tensor bf_cpu = torch::randn({256}).to(torch::kBFloat16), bf_gpu = bf_cpu.to(gpu);
  w.AllReduceSum(bf_cpu);
  nccl->AllReduceSum(bf_gpu);
  EXPECT_TRUE(torch::allclose(bf_gpu.cpu().to(torch::kFloat), bf_cpu.to(torch::kFloat), 2e-2, 2e-2)) << "bf16 sum";

  torch::Tensor max_cpu = torch::randn({64}, torch::kDouble), max_gpu = max_cpu.to(gpu);
  w.AllReduceMax(max_cpu);
  nccl->AllReduceMax(max_gpu);
  same(max_gpu, max_cpu, "AllReduceMax fp64");

  torch::Tensor mine = torch::randn({3, 5});
  same(nccl->AllGather(mine.to(gpu)), w.AllGather(mine), "AllGather");
  torch::Tensor whole = torch::randn({4 * n, 3});
  same(nccl->ReduceScatter(whole.to(gpu)), w.ReduceScatter(whole), "ReduceScatter");

  // Uneven all-to-all: rank r sends (r + p + 1) rows of width 2 to rank p.
  std::vector<int64_t> send(n), recv(n);
  for (int64_t p = 0; p < n; ++p) send[p] = r + p + 1, recv[p] = p + r + 1;
  torch::Tensor rows = torch::randn({std::accumulate(send.begin(), send.end(), int64_t{0}), 2});
  same(nccl->AllToAll(rows.to(gpu), send, recv), w.AllToAll(rows, send, recv), "AllToAll");

  torch::Tensor root_cpu = torch::randn({7}), root_gpu = root_cpu.to(gpu);
  w.Broadcast(root_cpu, n - 1);
  nccl->Broadcast(root_gpu, n - 1);
  same(root_gpu, root_cpu, "Broadcast");

  // Ring: send to the next rank, receive from the previous one (the pipeline's paired transfer).
  torch::Tensor out = torch::randn({2, 9}), in_cpu = torch::empty({2, 9}), in_gpu = torch::empty({2, 9}, gpu);
  w.SendRecv(out, (r + 1) % n, in_cpu, (r + n - 1) % n);
  nccl->SendRecv(out.to(gpu), (r + 1) % n, in_gpu, (r + n - 1) % n);
  same(in_gpu, in_cpu, "SendRecv ring");
  nccl->Barrier();
}

}  // namespace
}  // namespace zen
