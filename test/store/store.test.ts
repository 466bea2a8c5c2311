/**
 * The settings store on disk: round trips, validation, .bak, corrupt files, a writer killed
 * mid-write, two processes writing at once, secrets on disk.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MailError, openSettingsStore, STORE_VERSION } from '../../lib';
import { defaultStorePath } from '../../lib/store/store';
import { tempDir } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const alice = {
  label: 'Alice',
  email: 'alice@example.com',
  customize: true,
  protocol: 'smtp',
  smtp: { host: 'smtp.example.com', port: 587, username: 'alice', password: 'S3cret-pw' },
};
const bob = { label: 'Bob', email: 'bob@example.com' };

function storeFile(): string {
  return path.join(tempDir(), 'cfg', 'users.json');
}

async function code(p: Promise<unknown>): Promise<MailError> {
  return p.then(
    () => {
      throw new Error('expected a MailError');
    },
    (e) => e,
  );
}

test('default location: OXYMAIL_SETTINGS, then APPDATA on Windows, XDG_CONFIG_HOME elsewhere', () => {
  expect(defaultStorePath({ OXYMAIL_SETTINGS: '/srv/x.json' }, 'linux')).toBe('/srv/x.json');
  expect(defaultStorePath({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32')).toBe('C:\\Users\\a\\AppData\\Roaming\\oxymail\\users.json');
  expect(defaultStorePath({ XDG_CONFIG_HOME: '/home/a/.cfg' }, 'linux')).toBe('/home/a/.cfg/oxymail/users.json');
});

test('set, get, list, remove: validated, normalised, secrets masked in list, file private', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  expect(await store.list()).toEqual([]);
  const saved = await store.set('alice', alice);
  expect(saved.smtp).toMatchObject({ port: 587, security: 'auto' });
  await store.set('bob', bob);
  expect(await store.get('alice')).toEqual(saved);
  expect(await store.get('nobody')).toBeUndefined();
  const listed = await store.list();
  expect(listed.map((u) => u.userId)).toEqual(['alice', 'bob']);
  expect(JSON.stringify(listed)).not.toContain('S3cret-pw');
  expect(listed[0].settings.smtp?.password).toBe('********');
  const disk = JSON.parse(readFileSync(file, 'utf8'));
  expect(disk.version).toBe(STORE_VERSION);
  expect(Object.keys(disk.users)).toEqual(['alice', 'bob']);
  expect(statSync(file).mode & 0o077).toBe(0); // 0600: secrets are protected by the file's permissions here
  expect(store.secrets).toBe('file-permissions');
  expect(await store.remove('bob')).toBe(true);
  expect(await store.remove('bob')).toBe(false);
  expect((await store.list()).map((u) => u.userId)).toEqual(['alice']);
});

test('invalid settings are refused with their field path and nothing is written', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  const before = readFileSync(file, 'utf8');
  const err = await code(store.set('alice', { ...alice, smtp: { ...alice.smtp, port: 465, security: 'starttls' } }));
  expect(err.code).toBe('INVALID_SETTINGS');
  expect(err.problems?.[0].path).toBe('smtp.security');
  expect(readFileSync(file, 'utf8')).toBe(before);
});

test('each write keeps the previous version as .bak', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  const first = readFileSync(file, 'utf8');
  await store.set('bob', { ...bob, label: 'Robert' });
  expect(readFileSync(`${file}.bak`, 'utf8')).toBe(first);
  expect((await store.get('bob'))?.label).toBe('Robert');
});

test('a corrupt file and a hand-edited invalid file give INVALID_SETTINGS with the path; nothing is overwritten', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  writeFileSync(file, '{ "version": 1, "users": { "bob": ');
  const corrupt = await code(store.set('alice', alice));
  expect(corrupt.code).toBe('INVALID_SETTINGS');
  expect(corrupt.message).toMatch(/not valid JSON/);
  expect(readFileSync(file, 'utf8')).toBe('{ "version": 1, "users": { "bob": ');

  writeFileSync(file, JSON.stringify({ version: 1, users: { bob: { email: 'bob@example.com', smtp: { port: 'twenty-five' } } } }));
  const invalid = await code(store.list());
  expect(invalid.problems?.map((p) => p.path)).toEqual(['users.bob.smtp.port']);
  await code(store.set('alice', alice));
  expect(JSON.parse(readFileSync(file, 'utf8')).users.alice).toBeUndefined();
});

test('a file from a newer oxymail is refused; a version-0 file (bare user map) is migrated on the next write', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  writeFileSync(file, JSON.stringify({ version: STORE_VERSION + 1, users: {} }));
  expect((await code(store.list())).hint).toMatch(/Upgrade/);
  writeFileSync(file, JSON.stringify({ bob }));
  expect((await store.get('bob'))?.email).toBe('bob@example.com');
  await store.set('alice', alice);
  const disk = JSON.parse(readFileSync(file, 'utf8'));
  expect(disk.version).toBe(STORE_VERSION);
  expect(Object.keys(disk.users).sort()).toEqual(['alice', 'bob']);
});

/** Runs a child node that uses the store; `script` gets `store` and `done()`. */
function child(script: string, env: NodeJS.ProcessEnv = {}) {
  const code = `const { openSettingsStore } = require(${JSON.stringify(path.join(ROOT, 'dist'))});\n${script}`;
  return spawn(process.execPath, ['-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('a writer killed mid-write (after its temp file, before the rename) leaves the previous file whole, and the next writer takes over its lock', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  const before = readFileSync(file, 'utf8');
  // The child stops inside its write, just before the rename, and says so; then it is killed.
  const proc = child(
    `
    const fs = require('fs');
    fs.promises.rename = () => { process.stdout.write('renaming\\n'); return new Promise(() => {}); };
    openSettingsStore(process.env.FILE).set('carol', { email: 'carol@example.com' });
  `,
    { FILE: file },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d) => String(d).includes('renaming') && resolve());
    proc.on('exit', (c) => reject(new Error(`child exited early (${c})`)));
  });
  expect(existsSync(`${file}.lock`)).toBe(true);
  expect(readdirSync(path.dirname(file)).some((f) => f.endsWith('.tmp'))).toBe(true);
  proc.kill('SIGKILL');
  await new Promise((r) => proc.on('exit', r));
  expect(readFileSync(file, 'utf8')).toBe(before);
  expect((await store.list()).map((u) => u.userId)).toEqual(['bob']);
  await store.set('alice', alice); // the dead writer's lock is taken over
  expect((await store.list()).map((u) => u.userId)).toEqual(['alice', 'bob']);
});

test('two processes writing at once lose no update', async () => {
  const file = storeFile();
  await openSettingsStore(file).set('seed', bob);
  const writer = (prefix: string) =>
    child(
      `
    (async () => {
      const store = openSettingsStore(process.env.FILE);
      for (let i = 0; i < 15; i++) await store.set('${prefix}' + i, { email: '${prefix}' + i + '@example.com' });
    })().catch((e) => { console.error(e); process.exit(1); });
  `,
      { FILE: file },
    );
  const procs = [writer('a'), writer('b')];
  const codes = await Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r))));
  expect(codes).toEqual([0, 0]);
  const ids = (await openSettingsStore(file).list()).map((u) => u.userId);
  expect(ids).toHaveLength(31);
  for (let i = 0; i < 15; i++) expect(ids).toEqual(expect.arrayContaining([`a${i}`, `b${i}`]));
});

test('mailerFor gives a mailer with the stored settings, or SETTINGS_NOT_FOUND', async () => {
  const store = openSettingsStore(storeFile());
  await store.set('alice', alice);
  const mailer = await store.mailerFor('alice');
  expect(mailer.protocol).toBe('smtp');
  expect(mailer.settings.smtp?.password).toBe('S3cret-pw');
  expect((await code(store.mailerFor('nobody'))).code).toBe('SETTINGS_NOT_FOUND');
});
