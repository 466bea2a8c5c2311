#!/usr/bin/env bash
# Removes the recording client and leaves the prefix with NO default mail
# client at all (not even Wine's "Native Mail Client", whose xdg-email
# fallback would make tests depend on the desktop). restore-wine-default
# puts Wine's own client back instead.
#   unregister-client.sh [--restore-wine-default]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
KEY='HKLM\Software\Clients\Mail'
. "$ROOT/scripts/win/wine-reg.sh"

wine reg delete "$KEY\\Oxymail Recording Client" /f >/dev/null 2>&1 || true
if [ "${1:-}" = "--restore-wine-default" ]; then
  reg add "$KEY" /ve /d "Native Mail Client" /f
  echo "[unregister] default mail client: Native Mail Client (Wine's)"
else
  wine reg delete "$KEY" /ve /f >/dev/null 2>&1 || true
  echo "[unregister] no default mail client"
fi
