# Cross-builds the runtime for aarch64 (libcascade_runtime.a and
# cascade_exe_stub.o in lib/aarch64-linux-gnu/) with clang against Debian's
# cross sysroot, so `cascade compile/run --target=aarch64` can link
# standalone executables. Skipped, with a message, when the sysroot is not
# installed (scripts/install-deps.sh installs it).
set(CASCADE_AARCH64_SYSROOT /usr/aarch64-linux-gnu)
if(NOT EXISTS ${CASCADE_AARCH64_SYSROOT}/lib/crt1.o OR
   NOT EXISTS ${CASCADE_AARCH64_SYSROOT}/include/c++)
  message(STATUS "aarch64 runtime: no cross sysroot in "
                 "${CASCADE_AARCH64_SYSROOT}; --target=aarch64 cannot link")
  return()
endif()

include(ExternalProject)
ExternalProject_Add(cascade_runtime_aarch64
  SOURCE_DIR ${PROJECT_SOURCE_DIR}/runtime
  BINARY_DIR ${PROJECT_BINARY_DIR}/runtime-aarch64
  CMAKE_ARGS
    -DCMAKE_SYSTEM_NAME=Linux
    -DCMAKE_SYSTEM_PROCESSOR=aarch64
    -DCMAKE_C_COMPILER=${CASCADE_CLANG}
    -DCMAKE_CXX_COMPILER=${CASCADE_CLANG}++
    -DCMAKE_C_COMPILER_TARGET=aarch64-linux-gnu
    -DCMAKE_CXX_COMPILER_TARGET=aarch64-linux-gnu
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld
    -DCMAKE_BUILD_TYPE=Release
    -DCASCADE_RUNTIME_LIB_DIR=${PROJECT_BINARY_DIR}/lib/aarch64-linux-gnu
  INSTALL_COMMAND ""
  # Rebuild when the runtime's sources change (the sub-build is cheap).
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD OFF)
