// Communicator over MPI for CPU tensors. Collectives are issued non-blocking (MPI_I*) and polled, so a
// peer that never arrives becomes an error after parallel.timeout_s instead of a hang.
#pragma once

#include <mpi.h>

#include "parallel/communicator.h"

// Checks an MPI call; on failure throws c10::Error with the call, file, line and MPI's message.
#define ZEN_MPI_CHECK(call)                                                                 \
  do {                                                                                      \
    int zen_mpi_rc_ = (call);                                                               \
    if (zen_mpi_rc_ != MPI_SUCCESS) ::zen::ThrowMpiError(zen_mpi_rc_, #call, __FILE__, __LINE__); \
  } while (0)

namespace zen {

[[noreturn]] void ThrowMpiError(int rc, const char* call, const char* file, int line);

class MpiCommunicator : public Communicator {
 public:
  // Takes ownership of `comm` (freed on destruction unless it is MPI_COMM_WORLD).
  MpiCommunicator(MPI_Comm comm, std::string name, double timeout_s);
  ~MpiCommunicator() override;

  int64_t rank() const override { return rank_; }
  int64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

  void AllReduceSum(torch::Tensor& x) override;
  void AllReduceMax(torch::Tensor& x) override;
  torch::Tensor AllGather(const torch::Tensor& x) override;
  torch::Tensor ReduceScatter(const torch::Tensor& x) override;
  torch::Tensor AllToAll(const torch::Tensor& x, const std::vector<int64_t>& send_counts,
                         const std::vector<int64_t>& recv_counts) override;
  void Broadcast(torch::Tensor& x, int64_t root) override;
  void Send(const torch::Tensor& x, int64_t peer) override;
  void Recv(torch::Tensor& x, int64_t peer) override;
  void SendRecv(const torch::Tensor& send, int64_t to, torch::Tensor& recv, int64_t from) override;
  void Barrier() override;
  std::unique_ptr<Communicator> Split(int64_t color, int64_t key, const std::string& name) override;

  MPI_Comm comm() const { return comm_; }
  double timeout_s() const { return timeout_s_; }

 private:
  // Polls `request` until it completes; past the timeout, throws naming `what` and this group.
  void Wait(MPI_Request& request, const char* what);
  void AllReduce(torch::Tensor& x, MPI_Op op, const char* what);

  MPI_Comm comm_;
  std::string name_;
  double timeout_s_;
  int64_t rank_ = 0, size_ = 1;
};

}  // namespace zen
