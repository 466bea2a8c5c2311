#!/usr/bin/env node
// npm test's pretest: prepares what the Windows (Wine) suites need, by itself, on a fresh clone:
// one Windows node.exe per target (npm packages, scripts/win/targets.json), the Wine prefix, the
// x64 and ia32 cross-builds, `npm pack` (its prepack checks the prebuilds), and the tarball installed
// into a scratch app (.cache/win/app) where the suites load it from, as a Windows user would.
// Without Wine or mingw-w64 it says so loudly and exits 0: the Windows suites then fail under CI
// with the same message (test/windows/harness.ts), the other suites still run.
// Each step is skipped when already done (the cross-build is incremental; the app is reinstalled
// only when the tarball changed). OXYMAIL_SKIP_WINE_PREPARE=1 skips everything (SMTP-only runs).
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.cache', 'win');
const PACK_DIR = path.join(CACHE, 'pack');
const APP = path.join(CACHE, 'app');
const started = Date.now();
const say = (s) => console.log(`[prepare:wine] ${s}`);

function banner(lines) {
  const bar = '='.repeat(78);
  console.warn([bar, ...lines, bar].join('\n'));
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})\n${r.stdout || ''}\n${r.stderr || ''}`);
  }
  return r.stdout;
}

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

function main() {
  if (process.env.OXYMAIL_SKIP_WINE_PREPARE === '1') {
    say('OXYMAIL_SKIP_WINE_PREPARE=1: not preparing the Windows suites (they will say what is missing)');
    return;
  }
  const tools = ['wine', 'cmake', 'x86_64-w64-mingw32-g++-posix', 'x86_64-w64-mingw32-dlltool', 'i686-w64-mingw32-g++-posix', 'i686-w64-mingw32-dlltool'];
  const missing = tools.filter((t) => !has(t));
  if (process.platform === 'linux' && !fs.existsSync('/usr/lib/wine/wine')) missing.push('wine32 (/usr/lib/wine/wine)');
  if (process.platform !== 'linux' || missing.length) {
    banner([
      `oxymail: the Windows (Wine) suites CANNOT RUN here: missing ${process.platform !== 'linux' ? `Linux (this is ${process.platform})` : missing.join(', ')}.`,
      'Install as root: dpkg --add-architecture i386 && apt-get update && apt-get install -y wine wine64 wine32:i386 \\',
      '  g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64 g++-mingw-w64-i686 binutils-mingw-w64-i686 cmake',
      process.env.CI ? 'Under CI the Windows suites FAIL with this message.' : 'The Windows suites will fail with this message; the others run.',
    ]);
    return;
  }

  // node.exe per target and the prefix (no apt-get from a test run: the tools are checked above).
  process.stdout.write(run('bash', [path.join(ROOT, 'scripts', 'win', 'setup.sh')], { env: { ...process.env, OXYMAIL_SETUP_NO_APT: '1' } }));

  // One wineserver for the whole run, kept 10 minutes after its last process: no server start and
  // stop around each of the hundreds of node.exe and reg.exe runs (faster, and `wine reg` can fail
  // while a server is stopping). It ends by itself.
  // stdio ignored: the daemon would otherwise hold our pipes open for those 10 minutes.
  const server = spawnSync('wineserver', ['-p600'], {
    stdio: 'ignore',
    env: { ...process.env, WINEPREFIX: process.env.WINEPREFIX || path.join(ROOT, '.cache', 'wineprefix') },
  });
  if (server.status !== 0) say(`wineserver -p600 exited ${server.status}: each Wine run starts its own server`);

  // npm pack runs prepack: the cross-build of both arches, then the prebuild checks.
  fs.mkdirSync(PACK_DIR, { recursive: true });
  const { name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const tarball = path.join(PACK_DIR, `${name}-${version}.tgz`);
  fs.rmSync(tarball, { force: true });
  run('npm', ['pack', '--pack-destination', PACK_DIR]);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
  say(`packed ${path.relative(ROOT, tarball)} (sha256 ${sha.slice(0, 12)})`);

  const stamp = path.join(APP, '.oxymail-installed.json');
  const installed = fs.existsSync(stamp) ? JSON.parse(fs.readFileSync(stamp, 'utf8')) : {};
  if (installed.sha !== sha || !fs.existsSync(path.join(APP, 'node_modules', 'oxymail', 'package.json'))) {
    fs.mkdirSync(APP, { recursive: true });
    fs.writeFileSync(path.join(APP, 'package.json'), JSON.stringify({ name: 'oxymail-scratch-app', private: true, version: '1.0.0' }, null, 2));
    // The same name and version with new bytes: no lock file or old copy may pin the previous tarball.
    fs.rmSync(path.join(APP, 'package-lock.json'), { force: true });
    fs.rmSync(path.join(APP, 'node_modules', 'oxymail'), { recursive: true, force: true });
    run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--omit=dev', tarball], { cwd: APP });
    fs.writeFileSync(stamp, JSON.stringify({ sha, tarball: path.relative(ROOT, tarball) }));
    say(`installed into ${path.relative(ROOT, APP)}`);
  } else {
    say(`${path.relative(ROOT, APP)} already has this tarball`);
  }
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (err) {
  banner(['oxymail: preparing the Windows (Wine) suites FAILED:', String(err.message || err)]);
  process.exit(1);
}
