// A group of ranks that exchange tensors. MpiCommunicator moves CPU tensors over MPI; NcclCommunicator
// moves CUDA tensors over NCCL. Collectives are synchronous for the caller and in place where the
// shapes allow. Every collective carries a timeout (parallel.timeout_s): a peer that never arrives
// turns into an error naming the collective and the group, never a silent hang.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/status.h"

namespace zen {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int64_t rank() const = 0;
  virtual int64_t size() const = 0;
  virtual const std::string& name() const = 0;  // "world", "tp", "dp", ... for messages

  // x <- sum (or max) of x over the group.
  virtual void AllReduceSum(torch::Tensor& x) = 0;
  virtual void AllReduceMax(torch::Tensor& x) = 0;
  // Concatenation of every rank's x along dim 0, in rank order: (size * n, ...).
  virtual torch::Tensor AllGather(const torch::Tensor& x) = 0;
  // Sum over the group of x (size * n, ...), each rank keeping its n rows.
  virtual torch::Tensor ReduceScatter(const torch::Tensor& x) = 0;
  // Rows of x go to ranks in order: send_counts[r] rows to rank r; returns the rows received, in rank
  // order, recv_counts[r] from rank r.
  virtual torch::Tensor AllToAll(const torch::Tensor& x, const std::vector<int64_t>& send_counts,
                                 const std::vector<int64_t>& recv_counts) = 0;
  virtual void Broadcast(torch::Tensor& x, int64_t root) = 0;
  virtual void Send(const torch::Tensor& x, int64_t peer) = 0;
  virtual void Recv(torch::Tensor& x, int64_t peer) = 0;
  // Sends `send` to rank `to` while receiving into `recv` from rank `from`, both in flight at once, so
  // two ranks that send to each other cannot deadlock (the pipeline's steady state, as Megatron-Core's
  // batched isend/irecv). An undefined `send` or `recv` skips that half.
  virtual void SendRecv(const torch::Tensor& send, int64_t to, torch::Tensor& recv, int64_t from) = 0;
  virtual void Barrier() = 0;

  // Ranks with the same color form a new group, ordered by key (MPI_Comm_split).
  virtual std::unique_ptr<Communicator> Split(int64_t color, int64_t key, const std::string& name) = 0;

  // Bytes this rank has sent into collectives and point-to-point messages of this group so far.
  int64_t bytes_sent() const { return bytes_sent_; }

 protected:
  void CountBytes(const torch::Tensor& sent) { bytes_sent_ += sent.numel() * sent.element_size(); }

 private:
  int64_t bytes_sent_ = 0;
};

// Collectives that fail (timeout, transport error) throw c10::Error, since they run inside autograd;
// the trainer turns that into a status at its top.

// MPI_Init_thread once per process (idempotent) and the world communicator over CPU tensors.
std::unique_ptr<Communicator> MpiWorld(double timeout_s);

// Ends the whole job now: every rank of MPI_COMM_WORLD exits with `code`.
[[noreturn]] void AbortJob(int code);

// MPI_Finalize if MPI was initialised.
void FinalizeMpi();

}  // namespace zen
