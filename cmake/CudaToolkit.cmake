# Which CUDA toolkit torch's CMake config (Caffe2's public/cuda.cmake: enable_language(CUDA), FindCUDA,
# FindCUDAToolkit, a try_run against <cuda.h>) gets. The torch wheel is built for one CUDA version
# (torch.version.cuda, 13.0 for 2.11), and its config fails at configure time without a toolkit of that
# version. Two sources, in this order:
#   system: an nvcc of that version on PATH or in /usr/local/cuda/bin, with the toolkit around it;
#   wheels: NVIDIA's toolkit wheels in the venv (the cuda-toolkit extras in requirements.txt), which pip
#           unpacks into site-packages/nvidia/cu13/{bin,include,lib,nvvm}. That layout lacks what nvcc and
#           CMake look for (lib64/, targets/x86_64-linux/, unversioned libX.so), so a toolkit-shaped folder
#           of symlinks into the wheels is assembled at ${CMAKE_BINARY_DIR}/cuda.
# The choice is cached (ZEN_CUDA_SOURCE); delete the build folder after installing or removing a toolkit.
# Sets ZEN_CUDA_SOURCE and, for the wheels, CMAKE_CUDA_COMPILER and CUDA_TOOLKIT_ROOT_DIR / CUDAToolkit_ROOT.

# zen_python_value(out code): the line that ZEN_PYTHON prints for `code`, or FATAL_ERROR naming the code.
function(zen_python_value out code)
  execute_process(COMMAND "${ZEN_PYTHON}" -c "${code}" OUTPUT_VARIABLE value ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ZEN_PYTHON} -c \"${code}\" failed: ${err}run scripts/setup.sh first")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# zen_system_nvcc(out version): an nvcc of `version` (e.g. 13.0) on PATH or in /usr/local/cuda/bin, else "".
function(zen_system_nvcc out version)
  set(${out} "" PARENT_SCOPE)
  find_program(nvcc nvcc PATHS /usr/local/cuda/bin NO_CACHE)
  if(NOT nvcc)
    return()
  endif()
  execute_process(COMMAND "${nvcc}" --version OUTPUT_VARIABLE text RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND text MATCHES "release ([0-9]+\\.[0-9]+)" AND CMAKE_MATCH_1 STREQUAL version)
    set(${out} "${nvcc}" PARENT_SCOPE)
  else()
    message(STATUS "zen: ignoring ${nvcc}: not CUDA ${version}, the version torch was built with")
  endif()
endfunction()

# zen_link_entries(from to): a symlink in `to` for every entry of `from` that `to` lacks (the first wheel
# root that has a name wins), plus libX.so -> libX.so.N for shared libraries, as a toolkit's lib64/ has.
function(zen_link_entries from to)
  file(MAKE_DIRECTORY "${to}")
  file(GLOB entries RELATIVE "${from}" "${from}/*")
  foreach(name ${entries})
    if(NOT EXISTS "${to}/${name}")
      file(CREATE_LINK "${from}/${name}" "${to}/${name}" SYMBOLIC)
    endif()
    # Two steps: ${CMAKE_MATCH_1} in the same if() would expand before the match.
    if(name MATCHES "^(lib.+\\.so)\\.[0-9.]+$")
      set(unversioned "${to}/${CMAKE_MATCH_1}")
      if(NOT EXISTS "${unversioned}")
        file(CREATE_LINK "${name}" "${unversioned}" SYMBOLIC)
      endif()
    endif()
  endforeach()
endfunction()

# zen_cuda_from_wheels(root major): assembles the toolkit-shaped folder `root` from the venv's
# nvidia/cu<major> wheel roots (one per site-packages folder that has them).
function(zen_cuda_from_wheels root major)
  zen_python_value(wheel_roots
    "import nvidia.cu${major} as m; print(';'.join(m.__path__))")
  set(nvcc_root "")
  foreach(wheel_root ${wheel_roots})
    if(EXISTS "${wheel_root}/bin/nvcc" AND NOT nvcc_root)
      set(nvcc_root "${wheel_root}")
    endif()
  endforeach()
  if(NOT nvcc_root)
    message(FATAL_ERROR "no CUDA toolkit ${ZEN_TORCH_CUDA} (the version torch was built with): no nvcc ${ZEN_TORCH_CUDA} "
      "on PATH or in /usr/local/cuda/bin, and no nvidia-cuda-nvcc wheel in ${wheel_roots}. "
      "Install the wheels with `${ZEN_PYTHON} -m pip install -r requirements.txt` (scripts/setup.sh does).")
  endif()
  file(REMOVE_RECURSE "${root}")
  foreach(wheel_root ${wheel_roots})
    foreach(dir bin include nvvm)
      if(IS_DIRECTORY "${wheel_root}/${dir}")
        zen_link_entries("${wheel_root}/${dir}" "${root}/${dir}")
      endif()
    endforeach()
    zen_link_entries("${wheel_root}/lib" "${root}/lib64")
  endforeach()
  # nvcc.profile reads headers and libraries from $(TOP)/targets/x86_64-linux/{include,lib}.
  file(MAKE_DIRECTORY "${root}/targets/${CMAKE_SYSTEM_PROCESSOR}-linux")
  file(CREATE_LINK "../../include" "${root}/targets/${CMAKE_SYSTEM_PROCESSOR}-linux/include" SYMBOLIC)
  file(CREATE_LINK "../../lib64" "${root}/targets/${CMAKE_SYSTEM_PROCESSOR}-linux/lib" SYMBOLIC)
  file(CREATE_LINK "lib64" "${root}/lib" SYMBOLIC)
endfunction()

zen_python_value(ZEN_TORCH_CUDA "import torch; print(torch.version.cuda or '')")
if(NOT ZEN_TORCH_CUDA)
  message(FATAL_ERROR "the torch in ${ZEN_PYTHON} is a CPU-only build; zen links the CUDA build (requirements.txt)")
endif()
string(REGEX MATCH "^[0-9]+" ZEN_TORCH_CUDA_MAJOR "${ZEN_TORCH_CUDA}")

if(NOT DEFINED CACHE{ZEN_CUDA_SOURCE})
  zen_system_nvcc(ZEN_SYSTEM_NVCC "${ZEN_TORCH_CUDA}")
  if(ZEN_SYSTEM_NVCC)
    set(source "system toolkit (${ZEN_SYSTEM_NVCC})")
  else()
    set(source "venv's NVIDIA wheels (${CMAKE_BINARY_DIR}/cuda)")
  endif()
  set(ZEN_CUDA_SOURCE "${source}" CACHE INTERNAL "where the CUDA toolkit comes from (scripts/setup.sh prints it)")
endif()

if(ZEN_CUDA_SOURCE MATCHES "^venv")
  # Re-assembled on every configure, so a pip upgrade of the wheels is picked up.
  set(ZEN_CUDA_ROOT "${CMAKE_BINARY_DIR}/cuda")
  zen_cuda_from_wheels("${ZEN_CUDA_ROOT}" "${ZEN_TORCH_CUDA_MAJOR}")
  set(CMAKE_CUDA_COMPILER "${ZEN_CUDA_ROOT}/bin/nvcc" CACHE FILEPATH "nvcc from the venv's wheels")
  set(CUDA_TOOLKIT_ROOT_DIR "${ZEN_CUDA_ROOT}" CACHE PATH "CUDA toolkit assembled from the venv's wheels")
  set(CUDAToolkit_ROOT "${ZEN_CUDA_ROOT}")
endif()
message(STATUS "zen: CUDA ${ZEN_TORCH_CUDA} from the ${ZEN_CUDA_SOURCE}")
