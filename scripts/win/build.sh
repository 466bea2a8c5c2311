#!/usr/bin/env bash
# Cross-builds the Windows addon with mingw-w64, for each arch given (x64, ia32; default both):
# prebuilds/win32-<arch>/oxymail.node, the recording mail client shipped for oxymail/testing
# (prebuilds/win32-<arch>/oxymail_recording_client.dll) and its ANSI-only variant used by the tests
# (build/win-<arch>/). Incremental. `npm run build:win [-- x64|ia32]`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_TYPE="${BUILD_TYPE:-Release}"
ARCHES=("$@")
[ "${#ARCHES[@]}" -gt 0 ] || ARCHES=(x64 ia32)

for arch in "${ARCHES[@]}"; do
  case "$arch" in
    x64) triplet=x86_64-w64-mingw32 ;;
    ia32) triplet=i686-w64-mingw32 ;;
    *) echo "[build] unknown arch $arch (x64 or ia32)" >&2; exit 2 ;;
  esac
  dir="$ROOT/build/cmake-win32-$arch"
  # A build directory configured with another toolchain file (the former per-arch ones) starts afresh.
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q "^CMAKE_TOOLCHAIN_FILE:[A-Z]*=$ROOT/cmake/mingw-w64.cmake\$" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -S "$ROOT" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64.cmake" -DMINGW_TRIPLET="$triplet" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  cmake --build "$dir" --parallel "$(nproc 2>/dev/null || echo 2)"
  echo "[build] $ROOT/prebuilds/win32-$arch/oxymail.node, oxymail_recording_client.dll; build/win-$arch/oxymail_recording_client_ansi.dll"
done
