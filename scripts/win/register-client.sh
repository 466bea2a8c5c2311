#!/usr/bin/env bash
# Registers the recording mail client of an arch as the Wine prefix's default
# mail client, in the registry view a node.exe of that arch reads: HKLM\Software\Clients\Mail (Default) = client name,
# ...\Mail\<name>\DLLPath = Windows path of the DLL (Simple MAPI), and for
# the wide variant DLLPathEx = the same DLL, whose Extended MAPI provider
# exports Wine's MAPI32 forwards MAPIInitialize, MAPILogonEx... to. Wine's
# MAPI32 reads these when it loads, so only processes started afterwards see
# the change.
#   register-client.sh [wide|ansi] [x64|ia32]
# OXYMAIL_CLIENT_DLL registers another DLL (the tests: the installed package's copy, or a client of
# the other arch for the bitness-mismatch case).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export WINEPREFIX="${WINEPREFIX:-$ROOT/.cache/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
VARIANT="${1:-wide}"
ARCH="${2:-x64}"
NAME="Oxymail Recording Client"
KEY='HKLM\Software\Clients\Mail'

case "$VARIANT" in
  wide) DLL="$ROOT/prebuilds/win32-$ARCH/oxymail_recording_client.dll" ;;
  ansi) DLL="$ROOT/build/win-$ARCH/oxymail_recording_client_ansi.dll" ;;
  *) echo "usage: $0 [wide|ansi] [x64|ia32]" >&2; exit 2 ;;
esac
DLL="${OXYMAIL_CLIENT_DLL:-$DLL}"
[ -f "$DLL" ] || { echo "[register] $DLL is missing: run scripts/win/build.sh" >&2; exit 1; }
WIN_DLL="Z:$(printf '%s' "$DLL" | tr '/' '\\')"

. "$ROOT/scripts/win/wine-reg.sh"
REG_VIEW="$(reg_view_for "$ARCH")"

reg add "$KEY" /ve /d "$NAME" /f
reg add "$KEY\\$NAME" /ve /d "$NAME" /f
reg add "$KEY\\$NAME" /v DLLPath /d "$WIN_DLL" /f
if [ "$VARIANT" = wide ]; then
  reg add "$KEY\\$NAME" /v DLLPathEx /d "$WIN_DLL" /f
  echo "[register] default mail client ($REG_VIEW): $NAME -> $WIN_DLL (DLLPath, DLLPathEx)"
else
  # The ANSI-only variant stands for an old Simple MAPI-only client.
  reg_quiet delete "$KEY\\$NAME" /v DLLPathEx /f
  echo "[register] default mail client ($REG_VIEW): $NAME -> $WIN_DLL (DLLPath only)"
fi
