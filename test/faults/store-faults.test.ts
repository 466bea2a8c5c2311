/**
 * The settings store under attack and under kill -9: a .bak or users.json that is a symlink, a
 * .bak left 0644, a lock file holding garbage, a folder or a 100k-deep file where the store
 * should be, and writers killed at random points of their writes (the file is never torn, the
 * next writer takes the dead one's lock over). The single mid-write kill and the concurrent
 * writers stay in test/store/store.test.ts.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSettingsStore } from '../../lib';
import { storeBackupLine } from '../../lib/doctor';
import { tempDir } from '../helpers/fixtures';
import { mailFailure as failure } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const bob = { label: 'Bob', email: 'bob@example.com' };
const alice = { email: 'alice@example.com', customize: true, protocol: 'smtp', smtp: { host: 'smtp.example.com', username: 'alice', password: 'S3cret-pw' } };
const posix = process.platform !== 'win32';
const mode = (f: string) => statSync(f).mode & 0o777;

function storeFile(): string {
  const dir = path.join(tempDir(), 'cfg');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, 'users.json');
}

(posix ? describe : describe.skip)('symlinks and modes (POSIX: Windows symlinks need privileges)', () => {
  test('a .bak that is a symlink is replaced by the new .bak, never written through: its target keeps its content', async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('alice', alice);
    const victim = path.join(path.dirname(file), '..', 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, `${file}.bak`);
    await store.set('bob', bob);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(`${file}.bak`).isSymbolicLink()).toBe(false);
    expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).users.alice.email).toBe('alice@example.com');
  });

  test('the .bak is 0600 like the store, even when the old one was 0644', async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('alice', alice);
    await store.set('bob', bob);
    chmodSync(`${file}.bak`, 0o644);
    await store.set('carol', { email: 'carol@example.com' });
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}.bak`)).toBe(0o600);
  });

  test('a users.json that is a symlink is refused (STORE_ACCESS), for reads and writes, and its target is untouched', async () => {
    const dir = path.dirname(storeFile());
    const real = path.join(dir, 'real.json');
    writeFileSync(real, JSON.stringify({ version: 1, users: { bob } }));
    const link = path.join(dir, 'users.json');
    symlinkSync(real, link);
    const store = openSettingsStore(link);
    const read = await failure(store.list());
    expect(read.code).toBe('STORE_ACCESS');
    expect(read.message).toMatch(/symbolic link/);
    expect(read.hint).toMatch(/real file/);
    expect((await failure(store.set('alice', alice))).code).toBe('STORE_ACCESS');
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual({ version: 1, users: { bob } });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test('the doctor checks the .bak: private is ok, readable by others a warning, a symlink a failure', async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('alice', alice);
    await store.set('bob', bob);
    expect((await storeBackupLine(file, process.platform))?.verdict).toBe('ok');
    chmodSync(`${file}.bak`, 0o644);
    expect(await storeBackupLine(file, process.platform)).toMatchObject({ verdict: 'warn', detail: expect.stringContaining('chmod 600') });
    rmSync(`${file}.bak`);
    symlinkSync(file, `${file}.bak`);
    expect((await storeBackupLine(file, process.platform))?.verdict).toBe('fail');
  });
});

test('a store path that is a folder is STORE_ACCESS with a hint, not a raw EISDIR', async () => {
  const dir = tempDir();
  const err = await failure(openSettingsStore(dir).list());
  expect(err.code).toBe('STORE_ACCESS');
  expect(err.hint).toBeTruthy();
});

test('a store nested 100000 deep is INVALID_SETTINGS (not a stack overflow), and nothing is overwritten', async () => {
  const file = storeFile();
  const deep = `{"version":1,"users":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
  writeFileSync(file, deep);
  const store = openSettingsStore(file);
  const err = await failure(store.list());
  expect(err.code).toBe('INVALID_SETTINGS');
  expect(err.message).toMatch(/nested/);
  expect((await failure(store.set('bob', bob))).code).toBe('INVALID_SETTINGS');
  expect(readFileSync(file, 'utf8')).toBe(deep);
});

test.each(['0', 'garbage'])('a lock file holding %j is taken over once stale (2 s), not waited on forever', async (content) => {
  const file = storeFile();
  const store = openSettingsStore(file, { lockTimeoutMs: 20_000 });
  await store.set('bob', bob);
  writeFileSync(`${file}.lock`, content);
  await store.set('alice', alice);
  expect((await store.list()).map((u) => u.userId)).toEqual(['alice', 'bob']);
  expect(existsSync(`${file}.lock`)).toBe(false);
});

/** A child node that writes the store in a loop until killed. */
function writer(file: string, n: number) {
  const code = `
    const { openSettingsStore } = require(${JSON.stringify(path.join(ROOT, 'dist'))});
    const store = openSettingsStore(process.env.FILE, { lockTimeoutMs: 30000 });
    (async () => {
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) await store.set('w${n}-' + (i % 3), { email: 'w${n}-' + i + '@example.com', label: 'x'.repeat(i % 500) });
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return spawn(process.execPath, ['-e', code], { env: { ...process.env, FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('kill -9 loop: 12 writers killed at random points; the store and its .bak always parse, and the next writer always gets in', async () => {
  const file = storeFile();
  const store = openSettingsStore(file, { lockTimeoutMs: 30_000 });
  await store.set('seed', bob);
  let kills = 0;
  for (let round = 0; round < 12; round++) {
    const proc = writer(file, round);
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      proc.on('exit', (c) => reject(new Error(`writer exited early (${c})`)));
    });
    // A random point in its stream of writes (each takes a few ms).
    await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
    proc.kill('SIGKILL');
    await new Promise((r) => proc.on('exit', r));
    kills++;
    const users = JSON.parse(readFileSync(file, 'utf8')).users;
    expect(users.seed.email).toBe('bob@example.com');
    if (existsSync(`${file}.bak`)) expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).users.seed).toBeTruthy();
    // The next writer takes the dead writer's lock over (it held it at most mid-write).
    await store.set(`after-${round}`, { email: `after${round}@example.com` });
    if (posix) expect(mode(file)).toBe(0o600);
  }
  expect(kills).toBe(12);
  const ids = (await store.list()).map((u) => u.userId);
  for (let round = 0; round < 12; round++) expect(ids).toContain(`after-${round}`);
});
