/**
 * `require('oxymail')` loads only what createMailer needs: the modules a bare require leaves in
 * require.cache, read in a fresh Node process (the built package, required by its own name).
 * The timing itself is measured in bench/require.js, never here.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Runs `code` in a fresh process at the package root; returns the loaded files, relative, with / separators. */
function loadedAfter(code: string, type: 'commonjs' | 'module' = 'commonjs'): string[] {
  const report = "process.stdout.write(JSON.stringify(Object.keys(require('node:module')._cache ?? {})))";
  const script =
    type === 'module'
      ? `${code}; const { createRequire } = await import('node:module'); const require = createRequire(import.meta.url); ${report}`
      : `${code}; process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  const out = execFileSync(process.execPath, [`--input-type=${type}`, '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as string[]).map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
}

const HEAVY =
  /node_modules\/(nodemailer|html-to-text|jsonc-parser|node-gyp-build|commander)\/|dist\/(doctor|store\/store|store\/lock|store\/secrets|cli)\b|\.node$/;

test('a bare require loads none of nodemailer, html-to-text, jsonc-parser, the doctor, the store or the addon', () => {
  const loaded = loadedAfter("require('oxymail')");
  expect(loaded).toContain('dist/index.js');
  expect(loaded.filter((f) => HEAVY.test(f))).toEqual([]);
  expect(loaded.filter((f) => f.includes('node_modules/'))).toEqual([]);
});

test('createMailer and a message validation still load no dependency but the address parser', () => {
  const loaded = loadedAfter(
    "const { createMailer, validateMessage } = require('oxymail'); createMailer({ email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host: 'h' } }); validateMessage({ to: 'b@example.com', text: 'x' })",
  );
  expect(loaded.filter((f) => f.includes('node_modules/'))).toEqual([expect.stringMatching(/^node_modules\/nodemailer\/.*addressparser\//)]);
});

test('what is lazy still works: the store and the doctor load on their first call', () => {
  const loaded = loadedAfter(
    "const ox = require('oxymail'); ox.defaultStorePath(); ox.formatDoctorReport({ lines: [], recommendation: { choice: 'smtp', reason: '' }, failed: false, facts: {} }, { color: false })",
  );
  expect(loaded).toEqual(expect.arrayContaining(['dist/store/store.js', 'dist/doctor/index.js']));
});

test('an ES module importing by name gets every export, and still loads nothing heavy', () => {
  const loaded = loadedAfter(
    "import { createMailer, openSettingsStore, runDoctor, STORE_VERSION, MailError } from 'oxymail'; if (typeof createMailer !== 'function' || typeof openSettingsStore !== 'function' || typeof runDoctor !== 'function' || STORE_VERSION !== 1 || typeof MailError !== 'function') throw new Error('missing export')",
    'module',
  );
  expect(loaded.filter((f) => HEAVY.test(f))).toEqual([]);
});
