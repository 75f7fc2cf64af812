// `zen --version`: what a bug report needs to name the build. The git commit is the one CMake was
// configured at (cli/CMakeLists.txt); torch, CUDA, NCCL and MPI are asked at run time, so the line shows the
// libraries this process actually loaded (an rpath or LD_LIBRARY_PATH may pick others than the build saw).
#include <mpi.h>

#include <torch/torch.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include "cli/usage.h"
#include "parallel/nccl_communicator.h"  // defines: NcclCommunicator::Version

#ifndef ZEN_VERSION
#define ZEN_VERSION "unknown"
#endif
#ifndef ZEN_GIT_COMMIT
#define ZEN_GIT_COMMIT "unknown"
#endif

namespace zen {
namespace {

// "13.0" from CUDA's 13000.
std::string CudaVersion(long code) { return absl::StrCat(code / 1000, ".", (code % 1000) / 10); }

// torch's CUDA runtime, and the devices this process sees (none on a CPU-only machine).
std::string CudaLine() {
  const long runtime = at::detail::getCUDAHooks().versionCUDART();
  if (runtime <= 0) return "none (torch built without CUDA)";
  const int64_t devices = torch::cuda::device_count();
  return absl::StrCat(CudaVersion(runtime), " (torch's runtime); ",
                      devices > 0 ? absl::StrCat(devices, " device(s) visible") : std::string("no device visible"));
}

// The MPI library's own first line ("Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"); callable before
// MPI_Init.
std::string MpiLine() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string line(text, static_cast<size_t>(length));
  line = line.substr(0, line.find_first_of(",\n"));
  return line.empty() ? "unknown" : line;
}

}  // namespace

std::string VersionText() {
  return absl::StrCat("zen ", ZEN_VERSION, " (git commit ", ZEN_GIT_COMMIT, ")\n",
                      "torch ", TORCH_VERSION, "\n",
                      "CUDA ", CudaLine(), "\n",
                      "NCCL ", NcclCommunicator::Version(), "\n",
                      "MPI ", MpiLine(), "\n");
}

}  // namespace zen
