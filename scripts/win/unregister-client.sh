#!/usr/bin/env bash
# Removes the recording client and leaves the prefix with NO default mail
# client at all (not even Wine's "Native Mail Client", whose xdg-email
# fallback would make tests depend on the desktop). restore-wine-default
# puts Wine's own client back instead.
#   unregister-client.sh [x64|ia32] [--restore-wine-default]   (the registry view of that arch)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
KEY='HKLM\Software\Clients\Mail'
. "$ROOT/scripts/win/wine-reg.sh"
ARCH=x64
case "${1:-}" in x64|ia32) ARCH="$1"; shift ;; esac
REG_VIEW="$(reg_view_for "$ARCH")"

reg_quiet delete "$KEY\\Oxymail Recording Client" /f
if [ "${1:-}" = "--restore-wine-default" ]; then
  reg add "$KEY" /ve /d "Native Mail Client" /f
  echo "[unregister] default mail client: Native Mail Client (Wine's)"
else
  reg_quiet delete "$KEY" /ve /f
  echo "[unregister] no default mail client ($REG_VIEW)"
fi
