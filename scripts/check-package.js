#!/usr/bin/env node
// Checks a packed oxymail tarball as a user would get it: its file list (the library, the typings,
// oxymail/testing, the install hook, the sources a source build needs (binding.gyp, native/), one prebuild
// folder per arch and nothing from the development tree, the mingw-w64 cross-build's CMakeLists.txt and
// cmake/ included), then each binary's PE machine type and import table.
//   node scripts/check-package.js oxymail-x.y.z.tgz [--arches x64,ia32[,arm64]]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { checkPrebuilds, CROSS_ARCHES, ADDON, CLIENT } = require('./win/prebuilds');

const args = process.argv.slice(2);
const tgz = args.find((a) => !a.startsWith('--'));
const archIndex = args.indexOf('--arches');
const arches = archIndex >= 0 ? args[archIndex + 1].split(',') : CROSS_ARCHES;
if (!tgz) {
  console.error('usage: node scripts/check-package.js <tarball> [--arches x64,ia32,arm64]');
  process.exit(2);
}

const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  .map((f) => f.replace(/^package\//, ''));
const problems = [];
const required = [
  'package.json',
  'README.md',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/testing.js',
  'dist/testing.d.ts',
  'dist/cli/main.js',
  'scripts/install.js',
  'binding.gyp',
  'native/addon.cc',
  ...arches.flatMap((a) => [`prebuilds/win32-${a}/${ADDON}`, ...(CROSS_ARCHES.includes(a) ? [`prebuilds/win32-${a}/${CLIENT}`] : [])]),
];
for (const f of required) if (!files.includes(f)) problems.push(`missing from the tarball: ${f}`);
for (const f of files) {
  if (/^(test|bench|\.cache|build|lib|cmake|\.github|\.ci)\/|^CMakeLists\.txt$/.test(f)) problems.push(`development file in the tarball: ${f}`);
  const m = /^prebuilds\/([^/]+)\//.exec(f);
  if (m && !arches.map((a) => `win32-${a}`).includes(m[1])) problems.push(`unexpected prebuild folder: ${f}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-check-'));
try {
  execFileSync('tar', ['-xzf', tgz, '-C', dir, ...files.filter((f) => f.startsWith('prebuilds/')).map((f) => `package/${f}`)]);
  const checked = checkPrebuilds(path.join(dir, 'package', 'prebuilds'), arches, []);
  problems.push(...checked.problems.map((p) => p.split(dir).join('')));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

if (problems.length) {
  console.error(`[check-package] ${tgz}: ${problems.length} problem(s)\n` + problems.map((p) => '  - ' + p).join('\n'));
  process.exit(1);
}
console.log(`[check-package] ${tgz}: ${files.length} files; prebuilds ${arches.map((a) => `win32-${a}`).join(', ')} checked (PE machine, imports)`);
