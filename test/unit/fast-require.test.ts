/**
 * `require('oxymail')` loads only what createMailer needs: the modules a bare require leaves in
 * require.cache, read in a fresh Node process (the built package, required by its own name).
 * The timing itself is measured in bench/require.js, never here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
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

/** What createMailer does not need to make a mailer: loaded by the first send, sign-in, MAPI code lookup or failure that needs it. */
const ON_FIRST_USE =
  /dist\/(oauth\/(token-source|client|signin)|mapi-codes|transports\/(managed|send-control|smtp|mapi|compose)|outbox\/(policy|outbox)|imap\/sent-copy|i18n\/(en|fr))\.js$/;

/**
 * The Node built-ins (node:crypto, node:stream...) that requiring the package loads, from
 * process.moduleLoadList, in a script file (`node -e` itself preloads some of them).
 */
function builtinsLoadedByRequire(): string[] {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'oxymail-require-')), 'load.js');
  // (Read before process.stdout, which loads node:stream itself.)
  writeFileSync(
    file,
    `const before = process.moduleLoadList.length; require(${JSON.stringify(ROOT)}); const loaded = process.moduleLoadList.slice(before); process.stdout.write(JSON.stringify(loaded));`,
  );
  let out: string;
  try {
    out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
  } finally {
    rmSync(path.dirname(file), { recursive: true, force: true });
  }
  return (JSON.parse(out) as string[]).filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length));
}

test('a bare require or createMailer loads none of the token source, the MAPI codes, the relay, the send control, the outbox policy, the copy in Sent, the catalogs, node:crypto or node:stream', () => {
  const loaded = loadedAfter("require('oxymail')");
  expect(loaded.filter((f) => ON_FIRST_USE.test(f))).toEqual([]);
  const made = loadedAfter(
    "const { createMailer } = require('oxymail'); createMailer({ email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host: 'h', oauth2: { provider: 'google', clientId: 'c' } } })",
  );
  expect(made.filter((f) => ON_FIRST_USE.test(f))).toEqual([]);
  expect(builtinsLoadedByRequire().filter((m) => /^(crypto|stream)$/.test(m))).toEqual([]);
});

test('the exports loaded on first use work: OAuth2TokenSource, the MAPI code tables and lookups (also as ES module named imports)', () => {
  const loaded = loadedAfter(
    "const ox = require('oxymail'); const s = ox.createTokenSource({ oauth2: { provider: 'google', clientId: 'c' }, user: 'a@example.com' }); if (!(s instanceof ox.OAuth2TokenSource) || ox.SIMPLE_MAPI_CODES[2] !== 'FAILURE' || ox.simpleMapiCode(2) !== 'MAPI_FAILURE' || ox.extendedMapiCode(0x80004005) !== 'MAPI_' + ox.EXTENDED_MAPI_CODES[0x80004005]) throw new Error('lazy export')",
  );
  expect(loaded).toEqual(expect.arrayContaining(['dist/oauth/token-source.js', 'dist/mapi-codes.js']));
  loadedAfter(
    "import { OAuth2TokenSource, SIMPLE_MAPI_CODES, EXTENDED_MAPI_CODES, createTokenSource } from 'oxymail'; if (!(createTokenSource({ oauth2: { provider: 'google', clientId: 'c' }, user: 'a@example.com' }) instanceof OAuth2TokenSource) || SIMPLE_MAPI_CODES[2] !== 'FAILURE' || !EXTENDED_MAPI_CODES[0x80004005]) throw new Error('lazy export')",
    'module',
  );
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

test('the English catalog is read by the first text formatted, the French one only in French', () => {
  const loaded = loadedAfter(
    "const { MailError } = require('oxymail'); try { require('oxymail').createMailer({ email: 'nope' }); } catch (e) { if (!(e instanceof MailError) || !/email/.test(e.message)) throw e; }",
  );
  expect(loaded).toContain('dist/i18n/en.js');
  expect(loaded).not.toContain('dist/i18n/fr.js');
});
