# Cross-compiles the Windows addon on Linux with Debian's mingw-w64, for the
# arch named by the triplet: -DMINGW_TRIPLET=x86_64-w64-mingw32 (win32-x64) or
# -DMINGW_TRIPLET=i686-w64-mingw32 (win32-ia32), as scripts/win/build.sh does.
# The -posix compilers are required: the win32-thread ones have no
# std::thread/std::mutex, which the MAPI thread and node-addon-api use.
if(MINGW_TRIPLET STREQUAL "x86_64-w64-mingw32")
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
  set(OXYMAIL_ARCH x64)
elseif(MINGW_TRIPLET STREQUAL "i686-w64-mingw32")
  set(CMAKE_SYSTEM_PROCESSOR x86)
  set(OXYMAIL_ARCH ia32)
else()
  message(FATAL_ERROR "cmake/mingw-w64.cmake: set -DMINGW_TRIPLET=x86_64-w64-mingw32 or i686-w64-mingw32 (got '${MINGW_TRIPLET}')")
endif()
# CMake reads the toolchain file again for its compiler checks: they get the triplet too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MINGW_TRIPLET)
set(CMAKE_SYSTEM_NAME Windows)

set(MINGW_PREFIX ${MINGW_TRIPLET})
set(CMAKE_C_COMPILER ${MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${MINGW_PREFIX}-windres)
set(MINGW_DLLTOOL ${MINGW_PREFIX}-dlltool)

set(CMAKE_FIND_ROOT_PATH /usr/${MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
