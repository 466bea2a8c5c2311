#!/usr/bin/env bash
# Registers the recording mail client as the Wine prefix's default mail
# client: HKLM\Software\Clients\Mail (Default) = client name,
# ...\Mail\<name>\DLLPath = Windows path of the DLL (Simple MAPI), and for
# the wide variant DLLPathEx = the same DLL, whose Extended MAPI provider
# exports Wine's MAPI32 forwards MAPIInitialize, MAPILogonEx... to. Wine's
# MAPI32 reads these when it loads, so only processes started afterwards see
# the change.
#   register-client.sh [wide|ansi]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
VARIANT="${1:-wide}"
NAME="Oxymail Recording Client"
KEY='HKLM\Software\Clients\Mail'

case "$VARIANT" in
  wide) DLL="$ROOT/prebuilds/win32-x64/oxymail_recording_client.dll" ;;
  ansi) DLL="$ROOT/build/win/oxymail_recording_client_ansi.dll" ;;
  *) echo "usage: $0 [wide|ansi]" >&2; exit 2 ;;
esac
[ -f "$DLL" ] || { echo "[register] $DLL is missing: run scripts/win/build.sh" >&2; exit 1; }
WIN_DLL="Z:$(printf '%s' "$DLL" | tr '/' '\\')"

. "$ROOT/scripts/win/wine-reg.sh"

reg add "$KEY" /ve /d "$NAME" /f
reg add "$KEY\\$NAME" /ve /d "$NAME" /f
reg add "$KEY\\$NAME" /v DLLPath /d "$WIN_DLL" /f
if [ "$VARIANT" = wide ]; then
  reg add "$KEY\\$NAME" /v DLLPathEx /d "$WIN_DLL" /f
  echo "[register] default mail client: $NAME -> $WIN_DLL (DLLPath, DLLPathEx)"
else
  # The ANSI-only variant stands for an old Simple MAPI-only client.
  wine reg delete "$KEY\\$NAME" /v DLLPathEx /f >/dev/null 2>&1 || true
  echo "[register] default mail client: $NAME -> $WIN_DLL (DLLPath only)"
fi
