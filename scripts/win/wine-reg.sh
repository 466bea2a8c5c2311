# Sourced by the register/unregister scripts: `reg ARGS...` runs `wine reg ARGS...`, retried,
# because `wine reg` occasionally fails while the prefix's wineserver starts or stops under load.
# The last attempt shows its error.
reg() {
  local i
  for i in 1 2 3; do
    wine reg "$@" >/dev/null 2>&1 && return 0
    sleep "$i"
  done
  wine reg "$@" >/dev/null
}
