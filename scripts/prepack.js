#!/usr/bin/env node
// npm pack / npm publish: builds the Windows prebuilds when the mingw-w64 toolchain is here, then
// refuses to pack unless prebuilds/ holds the x64 and ia32 addons and recording clients (arm64 too
// when the release job put it there), each checked (arch, imports). OXYMAIL_PREPACK_BUILD=0 packs
// the prebuilds already in place without building (the release job packs the binaries it tested).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { checkPrebuilds, CROSS_ARCHES } = require('./win/prebuilds');

const ROOT = path.join(__dirname, '..');
const TOOLS = ['cmake', 'x86_64-w64-mingw32-g++-posix', 'x86_64-w64-mingw32-dlltool', 'i686-w64-mingw32-g++-posix', 'i686-w64-mingw32-dlltool'];
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

function fail(lines) {
  const bar = '='.repeat(78);
  console.error([bar, 'oxymail: NOT PACKING, the Windows prebuilds are not all there:', ...lines.map((l) => '  - ' + l), bar].join('\n'));
  process.exit(1);
}

const missingTools = TOOLS.filter((t) => !has(t));
if (process.env.OXYMAIL_PREPACK_BUILD === '0') {
  console.log('[prepack] OXYMAIL_PREPACK_BUILD=0: packing the prebuilds in place');
} else if (process.platform === 'linux' && missingTools.length === 0) {
  const run = spawnSync('bash', [path.join(ROOT, 'scripts', 'win', 'build.sh'), ...CROSS_ARCHES], { stdio: 'inherit' });
  if (run.status !== 0) fail([`scripts/win/build.sh failed (exit ${run.status})`]);
} else {
  console.warn(`[prepack] not building the Windows prebuilds here (missing: ${missingTools.join(', ') || process.platform}): checking those in place`);
}

// OXYMAIL_PREBUILDS_DIR: another folder to check (test/unit/prebuilds.test.ts).
const { problems, found } = checkPrebuilds(process.env.OXYMAIL_PREBUILDS_DIR || path.join(ROOT, 'prebuilds'));
if (problems.length) {
  fail([
    ...problems,
    'build them on Linux with mingw-w64: bash scripts/win/setup.sh (as root installs the toolchain), then npm pack;',
    'or put the release artifacts in prebuilds/ and pack with OXYMAIL_PREPACK_BUILD=0',
  ]);
}
console.log(
  `[prepack] prebuilds checked: ${Object.keys(found)
    .map((a) => `win32-${a}`)
    .join(', ')}`,
);
