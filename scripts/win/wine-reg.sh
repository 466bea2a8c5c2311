# Sourced by the register/unregister scripts: `reg ARGS...` runs `wine reg ARGS... $REG_VIEW`,
# retried, because `wine reg` occasionally fails while the prefix's wineserver starts or stops under
# load. The last attempt shows its error.
# REG_VIEW (/reg:64 or /reg:32, from the arch given to the script) is the registry view the tested
# node.exe reads: with wine32 installed, `wine reg` runs the 32-bit reg.exe, which would otherwise
# write the 32-bit view (Wow6432Node) that a 64-bit node.exe never reads.
reg_view_for() {
  case "${1:-x64}" in
    x64) echo /reg:64 ;;
    ia32) echo /reg:32 ;;
    *) echo "unknown arch $1 (x64 or ia32)" >&2; return 2 ;;
  esac
}
reg() {
  local i
  for i in 1 2 3; do
    wine reg "$@" "$REG_VIEW" >/dev/null 2>&1 && return 0
    sleep "$i"
  done
  wine reg "$@" "$REG_VIEW" >/dev/null
}
# The same, once, failure ignored (deleting what may not exist).
reg_quiet() {
  wine reg "$@" "$REG_VIEW" >/dev/null 2>&1 || true
}
