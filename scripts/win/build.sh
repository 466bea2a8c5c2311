#!/usr/bin/env bash
# Cross-builds prebuilds/win32-x64/oxymail.napi.node and the recording
# mail-client DLLs (prebuilds/win32-x64/, build/win/) with mingw-w64. `npm run build:win`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="$ROOT/build/cmake-win32-x64"
BUILD_TYPE="${BUILD_TYPE:-Release}"

cmake -S "$ROOT" -B "$BUILD_DIR" \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64-x86_64.cmake" \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE"
cmake --build "$BUILD_DIR" --parallel "$(nproc 2>/dev/null || echo 2)"

echo "[build] $ROOT/prebuilds/win32-x64/oxymail.napi.node"
echo "[build] $ROOT/prebuilds/win32-x64/oxymail_recording_client.dll"
echo "[build] $ROOT/build/win/oxymail_recording_client_ansi.dll"
