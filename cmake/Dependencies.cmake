# Third-party packages. libtorch comes from the PyPI torch wheel in .venv (scripts/setup.sh), found through
# torch.utils.cmake_prefix_path; the rest are Debian packages. See docs/build.md for why.

find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)
find_package(yaml-cpp REQUIRED)
find_package(absl REQUIRED)
find_package(Protobuf REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(GTest REQUIRED)

if(NOT DEFINED ZEN_PYTHON)
  set(ZEN_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python")
endif()
execute_process(
  COMMAND "${ZEN_PYTHON}" -c "import torch; print(torch.utils.cmake_prefix_path)"
  OUTPUT_VARIABLE ZEN_TORCH_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot import torch with ${ZEN_PYTHON}: run scripts/setup.sh first")
endif()
list(APPEND CMAKE_PREFIX_PATH "${ZEN_TORCH_PREFIX}")

# The wheel's libtorch is CUDA-enabled (cu130), so its CMake config needs the CUDA toolkit of that version:
# the machine's, or one assembled from the venv's NVIDIA wheels (cmake/CudaToolkit.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/CudaToolkit.cmake)
find_package(Torch REQUIRED)
set(ZEN_TORCH_LIB_DIR "${ZEN_TORCH_PREFIX}/../../lib")

# NCCL: the very libnccl torch loads (nvidia-nccl-cu13 wheel), so a process holds one NCCL.
execute_process(
  COMMAND "${ZEN_PYTHON}" -c "import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])"
  OUTPUT_VARIABLE ZEN_NCCL_ROOT OUTPUT_STRIP_TRAILING_WHITESPACE)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS "${ZEN_NCCL_ROOT}/include" REQUIRED)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS "${ZEN_NCCL_ROOT}/lib" REQUIRED)
add_library(zen_nccl INTERFACE)
target_include_directories(zen_nccl INTERFACE "${NCCL_INCLUDE_DIR}")
target_link_libraries(zen_nccl INTERFACE "${NCCL_LIBRARY}")

# Every target that uses torch reuses one precompiled header (torch headers dominate compile time).
# All targets compile with the compiler's default code model (Debian's gcc: PIE), so libraries and
# executables agree with the header's flags; a -fPIC/-fPIE mismatch makes gcc ignore the header.
add_library(zen_pch STATIC cmake/pch.cpp)
target_link_libraries(zen_pch PUBLIC ${TORCH_LIBRARIES})
target_precompile_headers(zen_pch PUBLIC <torch/torch.h>)

# zen_torch_target(target): links torch and reuses the shared precompiled header.
function(zen_torch_target target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM zen_pch)
endfunction()
