#!/usr/bin/env bash
# Prepares the Linux machine to build the Windows addon (x64, ia32) and run it under Wine: the
# tools (installed when run as root, unless OXYMAIL_SETUP_NO_APT=1), one Windows node.exe per
# target of scripts/win/targets.json (from npm), the Wine prefix.
# Idempotent: every step checks before acting. Run from anywhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache/win"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
# A fresh prefix otherwise pops a Mono/Gecko install prompt and waits forever.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

say() { printf '[setup] %s\n' "$*"; }

missing=()
command -v wine >/dev/null 2>&1 || missing+=(wine wine64)
[ -e /usr/lib/wine/wine ] || missing+=(wine32:i386)
command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1 || missing+=(g++-mingw-w64-x86-64)
command -v x86_64-w64-mingw32-dlltool >/dev/null 2>&1 || missing+=(binutils-mingw-w64-x86-64)
command -v i686-w64-mingw32-g++-posix >/dev/null 2>&1 || missing+=(g++-mingw-w64-i686)
command -v i686-w64-mingw32-dlltool >/dev/null 2>&1 || missing+=(binutils-mingw-w64-i686)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && [ "${OXYMAIL_SETUP_NO_APT:-}" != 1 ]; then
    say "installing: ${missing[*]} (dpkg --add-architecture i386; apt-get update && apt-get install -y ...)"
    dpkg --add-architecture i386
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    say "missing: ${missing[*]}"
    say "run as root: dpkg --add-architecture i386 && apt-get update && apt-get install -y ${missing[*]}"
    exit 1
  fi
else
  say "wine (with wine32), mingw-w64 x86_64 and i686 (g++-posix, dlltool) and cmake are present"
fi

# node.exe per target: .cache/win/<package>@<version>/node.exe (scripts/win/targets.json).
mkdir -p "$CACHE"
fresh=0
while read -r pkg; do
  dir="$CACHE/$pkg"
  if [ -f "$dir/node.exe" ]; then
    say "$pkg: node.exe already in $dir"
    continue
  fi
  fresh=1
  say "fetching a Windows node.exe: npm pack $pkg -> $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tgz="$(cd "$dir.tmp" && npm pack --silent "$pkg" | tail -n 1)"
  tar -xzf "$dir.tmp/$tgz" -C "$dir.tmp" package/bin/node.exe
  mv "$dir.tmp/package/bin" "$dir"
  rm -rf "$dir.tmp"
done < <(node -e 'for (const t of require(process.argv[1]).targets) console.log(`${t.package}@${t.version}`)' "$ROOT/scripts/win/targets.json")

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  fresh=1
  say "creating WINEPREFIX=$WINEPREFIX (about 10 s, once)"
  mkdir -p "$WINEPREFIX"
  wineboot -i >/dev/null 2>&1 || wine wineboot -i >/dev/null 2>&1
  wineserver -w || true
else
  say "WINEPREFIX=$WINEPREFIX already exists"
fi

# After a fetch or a new prefix (or with OXYMAIL_SETUP_CHECK=1), one line per target: whether its
# node.exe starts under this prefix (the 32-bit one through WoW64).
[ "$fresh" = 1 ] || [ "${OXYMAIL_SETUP_CHECK:-}" = 1 ] || exit 0
for exe in "$CACHE"/*@*/node.exe; do
  out="$(mktemp)"
  NODE_SKIP_PLATFORM_CHECK=1 wine "$exe" -e "require('fs').writeFileSync(process.argv[1], process.version + ' ' + process.arch)" "Z:$(printf '%s' "$out" | tr '/' '\\')" >/dev/null 2>&1 </dev/null || true
  say "$(basename "$(dirname "$exe")") under wine: $(cat "$out" 2>/dev/null || true)"
  rm -f "$out"
done
