// Communicator over NCCL for CUDA tensors: one device per local rank, its ncclUniqueId broadcast over
// MPI, its own stream ordered after torch's current stream (and torch's after it) so callers see
// ordinary synchronous semantics. Compiled in every build; it runs only where a GPU exists.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include "parallel/mpi_communicator.h"

#define ZEN_CUDA_CHECK(call)                                                                          \
  do {                                                                                                \
    cudaError_t zen_cuda_rc_ = (call);                                                                \
    TORCH_CHECK(zen_cuda_rc_ == cudaSuccess, #call, " failed at ", __FILE__, ":", __LINE__, ": ",     \
                cudaGetErrorString(zen_cuda_rc_));                                                    \
  } while (0)

#define ZEN_NCCL_CHECK(call)                                                                          \
  do {                                                                                                \
    ncclResult_t zen_nccl_rc_ = (call);                                                               \
    TORCH_CHECK(zen_nccl_rc_ == ncclSuccess, #call, " failed at ", __FILE__, ":", __LINE__, ": ",     \
                ncclGetErrorString(zen_nccl_rc_));                                                    \
  } while (0)

namespace zen {

class NcclCommunicator : public Communicator {
 public:
  // Collective over `mpi`'s ranks: rank 0 makes the unique id, MPI broadcasts it, all init on `device`.
  static std::unique_ptr<NcclCommunicator> Create(std::unique_ptr<MpiCommunicator> mpi, int device);
  ~NcclCommunicator() override;

  int64_t rank() const override { return mpi_->rank(); }
  int64_t size() const override { return mpi_->size(); }
  const std::string& name() const override { return mpi_->name(); }

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

  // NCCL's version as "2.28.9", and as NCCL's number (22809).
  static std::string Version();
  static int VersionCode();

 private:
  NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device, ncclComm_t comm, cudaStream_t stream);
  void AllReduce(torch::Tensor& x, ncclRedOp_t op, const char* what);
  // Our stream waits for torch's current stream before an operation ...
  void Begin();
  // ... and torch's waits for ours after it; then we wait (bounded by the timeout) for completion.
  void End(const char* what, std::initializer_list<torch::Tensor> used);

  std::unique_ptr<MpiCommunicator> mpi_;
  int device_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  cudaEvent_t event_;
  double timeout_s_;
};

}  // namespace zen
