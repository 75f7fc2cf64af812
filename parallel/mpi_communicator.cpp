#include "parallel/mpi_communicator.h"

#include <chrono>
#include <thread>

namespace zen {
namespace {

// MPI type for reductions; bf16/fp16 are reduced in fp32 by the caller.
MPI_Datatype ReduceType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return MPI_FLOAT;
    case torch::kDouble: return MPI_DOUBLE;
    case torch::kLong: return MPI_INT64_T;
    case torch::kInt: return MPI_INT32_T;
    case torch::kByte: return MPI_UINT8_T;
    default: TORCH_CHECK(false, "MPI reductions do not support dtype ", t);
  }
}

int ByteCount(const torch::Tensor& x) {
  const int64_t bytes = x.numel() * static_cast<int64_t>(x.element_size());
  TORCH_CHECK(bytes < (int64_t{1} << 31), "an MPI message of ", bytes, " bytes exceeds MPI's int count");
  return static_cast<int>(bytes);
}

torch::Tensor CpuContiguous(const torch::Tensor& x) {
  TORCH_CHECK(x.device().is_cpu(), "MpiCommunicator moves CPU tensors; got one on ", x.device());
  return x.contiguous();
}

}  // namespace

void ThrowMpiError(int rc, const char* call, const char* file, int line) {
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, message, &length);
  TORCH_CHECK(false, call, " failed at ", file, ":", line, ": ", std::string(message, length));
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::string name, double timeout_s)
    : comm_(comm), name_(std::move(name)), timeout_s_(timeout_s) {
  int rank = 0, size = 1;
  ZEN_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  ZEN_MPI_CHECK(MPI_Comm_rank(comm_, &rank));
  ZEN_MPI_CHECK(MPI_Comm_size(comm_, &size));
  rank_ = rank;
  size_ = size;
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::Wait(MPI_Request& request, const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
  int done = 0;
  for (int polls = 0;; ++polls) {
    ZEN_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    // Spin briefly (most collectives finish in microseconds), then yield the core to the peers.
    if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(20));
    if ((polls & 255) == 0 && Clock::now() > deadline) {
      TORCH_CHECK(false, "collective ", what, " on group '", name_, "' (rank ", rank_, " of ", size_,
                  ") did not complete within parallel.timeout_s = ", timeout_s_, " s: a peer rank is stuck or gone");
    }
  }
}

void MpiCommunicator::AllReduce(torch::Tensor& x, MPI_Op op, const char* what) {
  if (size_ == 1) return;
  const bool low_precision = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  torch::Tensor buffer = low_precision ? x.to(torch::kFloat) : CpuContiguous(x);
  CountBytes(buffer);
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buffer.data_ptr(), static_cast<int>(buffer.numel()),
                               ReduceType(buffer.scalar_type()), op, comm_, &request));
  Wait(request, what);
  if (!buffer.is_same(x)) x.copy_(buffer);
}

void MpiCommunicator::AllReduceSum(torch::Tensor& x) { AllReduce(x, MPI_SUM, "all_reduce(sum)"); }
void MpiCommunicator::AllReduceMax(torch::Tensor& x) { AllReduce(x, MPI_MAX, "all_reduce(max)"); }

torch::Tensor MpiCommunicator::AllGather(const torch::Tensor& x) {
  const torch::Tensor in = CpuContiguous(x);
  std::vector<int64_t> shape = in.sizes().vec();
  shape.insert(shape.begin(), size_);
  torch::Tensor out = torch::empty(shape, in.options());
  CountBytes(in);
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Iallgather(in.data_ptr(), ByteCount(in), MPI_BYTE, out.data_ptr(), ByteCount(in), MPI_BYTE,
                               comm_, &request));
  Wait(request, "all_gather");
  return in.dim() == 0 ? out : out.flatten(0, 1);
}

torch::Tensor MpiCommunicator::ReduceScatter(const torch::Tensor& x) {
  TORCH_CHECK(x.size(0) % size_ == 0, "reduce_scatter: ", x.size(0), " rows do not split over ", size_, " ranks");
  torch::Tensor in = x.to(x.scalar_type() == torch::kBFloat16 ? torch::kFloat : x.scalar_type()).contiguous();
  torch::Tensor out = torch::empty_like(in.narrow(0, 0, in.size(0) / size_));
  CountBytes(in);
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Ireduce_scatter_block(in.data_ptr(), out.data_ptr(), static_cast<int>(out.numel()),
                                          ReduceType(in.scalar_type()), MPI_SUM, comm_, &request));
  Wait(request, "reduce_scatter");
  return out.to(x.scalar_type());
}

torch::Tensor MpiCommunicator::AllToAll(const torch::Tensor& x, const std::vector<int64_t>& send_counts,
                                        const std::vector<int64_t>& recv_counts) {
  const torch::Tensor in = CpuContiguous(x);
  // Bytes per row from the shape, not numel / rows: a rank may send no rows and still receive some.
  int64_t row_bytes = in.element_size();
  for (int64_t d = 1; d < in.dim(); ++d) row_bytes *= in.size(d);
  std::vector<int64_t> shape = in.sizes().vec();
  int64_t recv_rows = 0;
  for (int64_t c : recv_counts) recv_rows += c;
  shape[0] = recv_rows;
  torch::Tensor out = torch::empty(shape, in.options());
  std::vector<int> sc(size_), sd(size_), rc(size_), rd(size_);
  int64_t send_offset = 0, recv_offset = 0;
  for (int64_t r = 0; r < size_; ++r) {
    sc[r] = static_cast<int>(send_counts[r] * row_bytes), sd[r] = static_cast<int>(send_offset);
    rc[r] = static_cast<int>(recv_counts[r] * row_bytes), rd[r] = static_cast<int>(recv_offset);
    send_offset += sc[r], recv_offset += rc[r];
  }
  CountBytes(in);
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Ialltoallv(in.data_ptr(), sc.data(), sd.data(), MPI_BYTE, out.data_ptr(), rc.data(), rd.data(),
                               MPI_BYTE, comm_, &request));
  Wait(request, "all_to_all");
  return out;
}

void MpiCommunicator::Broadcast(torch::Tensor& x, int64_t root) {
  torch::Tensor buffer = CpuContiguous(x);
  if (rank_ == root) CountBytes(buffer);
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Ibcast(buffer.data_ptr(), ByteCount(buffer), MPI_BYTE, static_cast<int>(root), comm_, &request));
  Wait(request, "broadcast");
  if (!buffer.is_same(x)) x.copy_(buffer);
}

void MpiCommunicator::Send(const torch::Tensor& x, int64_t peer) {
  torch::Tensor none;
  SendRecv(x, peer, none, -1);
}

void MpiCommunicator::Recv(torch::Tensor& x, int64_t peer) { SendRecv(torch::Tensor(), -1, x, peer); }

void MpiCommunicator::SendRecv(const torch::Tensor& send, int64_t to, torch::Tensor& recv, int64_t from) {
  torch::Tensor out, in;
  MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  if (send.defined()) {
    out = CpuContiguous(send);
    CountBytes(out);
    ZEN_MPI_CHECK(MPI_Isend(out.data_ptr(), ByteCount(out), MPI_BYTE, static_cast<int>(to), 0, comm_, &requests[0]));
  }
  if (recv.defined()) {
    in = CpuContiguous(recv);
    ZEN_MPI_CHECK(MPI_Irecv(in.data_ptr(), ByteCount(in), MPI_BYTE, static_cast<int>(from), 0, comm_, &requests[1]));
  }
  Wait(requests[0], send.defined() && recv.defined() ? "send_recv" : send.defined() ? "send" : "recv");
  Wait(requests[1], send.defined() && recv.defined() ? "send_recv" : "recv");
  if (recv.defined() && !in.is_same(recv)) recv.copy_(in);
}

void MpiCommunicator::Barrier() {
  MPI_Request request;
  ZEN_MPI_CHECK(MPI_Ibarrier(comm_, &request));
  Wait(request, "barrier");
}

std::unique_ptr<Communicator> MpiCommunicator::Split(int64_t color, int64_t key, const std::string& name) {
  MPI_Comm sub;
  ZEN_MPI_CHECK(MPI_Comm_split(comm_, static_cast<int>(color), static_cast<int>(key), &sub));
  return std::make_unique<MpiCommunicator>(sub, name, timeout_s_);
}

std::unique_ptr<Communicator> MpiWorld(double timeout_s) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  }
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, "world", timeout_s);
}

void AbortJob(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void FinalizeMpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace zen
