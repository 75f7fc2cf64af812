#include "parallel/nccl_communicator.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>

#include <chrono>
#include <thread>

namespace zen {
namespace {

ncclDataType_t NcclType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kHalf: return ncclFloat16;
    case torch::kLong: return ncclInt64;
    case torch::kInt: return ncclInt32;
    case torch::kByte: return ncclUint8;
    default: TORCH_CHECK(false, "NCCL does not support dtype ", t);
  }
}

torch::Tensor CudaContiguous(const torch::Tensor& x) {
  TORCH_CHECK(x.is_cuda(), "NcclCommunicator moves CUDA tensors; got one on ", x.device());
  return x.contiguous();
}

// Elements per row from the shape, not numel / rows: a rank may send no rows and still receive some.
int64_t RowElements(const torch::Tensor& x) {
  int64_t n = 1;
  for (int64_t d = 1; d < x.dim(); ++d) n *= x.size(d);
  return n;
}

}  // namespace

int NcclCommunicator::VersionCode() {
  int v = 0;
  ncclGetVersion(&v);
  return v;
}

std::string NcclCommunicator::Version() {
  const int v = VersionCode();
  return absl::StrCat(v / 10000, ".", (v / 100) % 100, ".", v % 100);
}

std::unique_ptr<NcclCommunicator> NcclCommunicator::Create(std::unique_ptr<MpiCommunicator> mpi, int device) {
  ZEN_CUDA_CHECK(cudaSetDevice(device));
  ncclUniqueId id;
  if (mpi->rank() == 0) ZEN_NCCL_CHECK(ncclGetUniqueId(&id));
  ZEN_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi->comm()));
  ncclComm_t comm;
  ZEN_NCCL_CHECK(ncclCommInitRank(&comm, static_cast<int>(mpi->size()), id, static_cast<int>(mpi->rank())));
  cudaStream_t stream;
  ZEN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(std::move(mpi), device, comm, stream));
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device, ncclComm_t comm,
                                   cudaStream_t stream)
    : mpi_(std::move(mpi)), device_(device), comm_(comm), stream_(stream), timeout_s_(mpi_->timeout_s()) {
  ZEN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
}

NcclCommunicator::~NcclCommunicator() {
  ncclCommDestroy(comm_);
  cudaEventDestroy(event_);
  cudaStreamDestroy(stream_);
}

void NcclCommunicator::Begin() {
  ZEN_CUDA_CHECK(cudaEventRecord(event_, c10::cuda::getCurrentCUDAStream(device_).stream()));
  ZEN_CUDA_CHECK(cudaStreamWaitEvent(stream_, event_, 0));
}

void NcclCommunicator::End(const char* what, std::initializer_list<torch::Tensor> used) {
  // The caching allocator must not hand these buffers out again until our stream is done with them.
  for (const torch::Tensor& t : used) {
    c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(),
                                                  c10::cuda::getStreamFromExternal(stream_, device_));
  }
  ZEN_CUDA_CHECK(cudaEventRecord(event_, stream_));
  ZEN_CUDA_CHECK(cudaStreamWaitEvent(c10::cuda::getCurrentCUDAStream(device_).stream(), event_, 0));
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
  while (cudaEventQuery(event_) == cudaErrorNotReady) {
    if (Clock::now() > deadline) {
      ncclCommAbort(comm_);
      TORCH_CHECK(false, "collective ", what, " on group '", name(), "' (rank ", rank(), " of ", size(),
                  ") did not complete within ", timeout_s_, " s: a peer rank is stuck or gone");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  ncclResult_t async_error = ncclSuccess;
  ZEN_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async_error));
  ZEN_NCCL_CHECK(async_error);
}

void NcclCommunicator::AllReduce(torch::Tensor& x, ncclRedOp_t op, const char* what) {
  torch::Tensor buffer = CudaContiguous(x);
  CountBytes(buffer);
  Begin();
  ZEN_NCCL_CHECK(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), buffer.numel(), NcclType(buffer.scalar_type()),
                               op, comm_, stream_));
  End(what, {buffer});
  if (!buffer.is_same(x)) x.copy_(buffer);
}

void NcclCommunicator::AllReduceSum(torch::Tensor& x) { AllReduce(x, ncclSum, "all_reduce(sum)"); }
void NcclCommunicator::AllReduceMax(torch::Tensor& x) { AllReduce(x, ncclMax, "all_reduce(max)"); }

torch::Tensor NcclCommunicator::AllGather(const torch::Tensor& x) {
  const torch::Tensor in = CudaContiguous(x);
  std::vector<int64_t> shape = in.sizes().vec();
  shape.insert(shape.begin(), size());
  torch::Tensor out = torch::empty(shape, in.options());
  CountBytes(in);
  Begin();
  ZEN_NCCL_CHECK(ncclAllGather(in.data_ptr(), out.data_ptr(), in.numel(), NcclType(in.scalar_type()), comm_, stream_));
  End("all_gather", {in, out});
  return in.dim() == 0 ? out : out.flatten(0, 1);
}

torch::Tensor NcclCommunicator::ReduceScatter(const torch::Tensor& x) {
  const torch::Tensor in = CudaContiguous(x);
  TORCH_CHECK(in.size(0) % size() == 0, "reduce_scatter: ", in.size(0), " rows do not split over ", size(), " ranks");
  torch::Tensor out = torch::empty_like(in.narrow(0, 0, in.size(0) / size()));
  CountBytes(in);
  Begin();
  ZEN_NCCL_CHECK(ncclReduceScatter(in.data_ptr(), out.data_ptr(), out.numel(), NcclType(in.scalar_type()), ncclSum,
                                   comm_, stream_));
  End("reduce_scatter", {in, out});
  return out;
}

torch::Tensor NcclCommunicator::AllToAll(const torch::Tensor& x, const std::vector<int64_t>& send_counts,
                                         const std::vector<int64_t>& recv_counts) {
  const torch::Tensor in = CudaContiguous(x);
  const int64_t row = RowElements(in);
  std::vector<int64_t> shape = in.sizes().vec();
  int64_t recv_rows = 0;
  for (int64_t c : recv_counts) recv_rows += c;
  shape[0] = recv_rows;
  torch::Tensor out = torch::empty(shape, in.options());
  const ncclDataType_t type = NcclType(in.scalar_type());
  const int64_t bytes = in.element_size();
  CountBytes(in);
  Begin();
  ZEN_NCCL_CHECK(ncclGroupStart());
  int64_t send_offset = 0, recv_offset = 0;
  for (int64_t r = 0; r < size(); ++r) {
    auto* send_ptr = static_cast<char*>(in.data_ptr()) + send_offset * row * bytes;
    auto* recv_ptr = static_cast<char*>(out.data_ptr()) + recv_offset * row * bytes;
    if (send_counts[r] > 0) ZEN_NCCL_CHECK(ncclSend(send_ptr, send_counts[r] * row, type, r, comm_, stream_));
    if (recv_counts[r] > 0) ZEN_NCCL_CHECK(ncclRecv(recv_ptr, recv_counts[r] * row, type, r, comm_, stream_));
    send_offset += send_counts[r], recv_offset += recv_counts[r];
  }
  ZEN_NCCL_CHECK(ncclGroupEnd());
  End("all_to_all", {in, out});
  return out;
}

void NcclCommunicator::Broadcast(torch::Tensor& x, int64_t root) {
  torch::Tensor buffer = CudaContiguous(x);
  if (rank() == root) CountBytes(buffer);
  Begin();
  ZEN_NCCL_CHECK(ncclBroadcast(buffer.data_ptr(), buffer.data_ptr(), buffer.numel(), NcclType(buffer.scalar_type()),
                               static_cast<int>(root), comm_, stream_));
  End("broadcast", {buffer});
  if (!buffer.is_same(x)) x.copy_(buffer);
}

void NcclCommunicator::Send(const torch::Tensor& x, int64_t peer) {
  torch::Tensor none;
  SendRecv(x, peer, none, -1);
}

void NcclCommunicator::Recv(torch::Tensor& x, int64_t peer) { SendRecv(torch::Tensor(), -1, x, peer); }

void NcclCommunicator::SendRecv(const torch::Tensor& send, int64_t to, torch::Tensor& recv, int64_t from) {
  const torch::Tensor out = send.defined() ? CudaContiguous(send) : torch::Tensor();
  torch::Tensor in = recv.defined() ? CudaContiguous(recv) : torch::Tensor();
  if (out.defined()) CountBytes(out);
  Begin();
  // One group: NCCL starts both halves together, so the pair cannot wait on each other.
  ZEN_NCCL_CHECK(ncclGroupStart());
  if (out.defined()) {
    ZEN_NCCL_CHECK(ncclSend(out.data_ptr(), out.numel(), NcclType(out.scalar_type()), static_cast<int>(to), comm_,
                            stream_));
  }
  if (in.defined()) {
    ZEN_NCCL_CHECK(ncclRecv(in.data_ptr(), in.numel(), NcclType(in.scalar_type()), static_cast<int>(from), comm_,
                            stream_));
  }
  ZEN_NCCL_CHECK(ncclGroupEnd());
  End("send_recv", {out.defined() ? out : in, in.defined() ? in : out});
  if (in.defined() && !in.is_same(recv)) recv.copy_(in);
}

void NcclCommunicator::Barrier() {
  torch::Tensor one = torch::ones({1}, torch::TensorOptions().device(torch::kCUDA, device_));
  AllReduceSum(one);
}

std::unique_ptr<Communicator> NcclCommunicator::Split(int64_t color, int64_t key, const std::string& name) {
  std::unique_ptr<Communicator> sub = mpi_->Split(color, key, name);
  std::unique_ptr<MpiCommunicator> sub_mpi(static_cast<MpiCommunicator*>(sub.release()));
  return Create(std::move(sub_mpi), device_);
}

}  // namespace zen
