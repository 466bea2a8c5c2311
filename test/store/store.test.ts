/**
 * The settings store on disk: round trips, validation, .bak, corrupt files, a writer killed
 * mid-write, two processes writing at once, secrets on disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MailError, openSettingsStore, STORE_VERSION } from '../../lib';
import { defaultStorePath, setAgain, shellWord } from '../../lib/store/store';
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

test('set, get, list, remove: validated, normalised, secrets masked in list', async () => {
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
  expect(await store.remove('bob')).toBe(true);
  expect(await store.remove('bob')).toBe(false);
  expect((await store.list()).map((u) => u.userId)).toEqual(['alice']);
});

const WINDOWS = process.platform === 'win32';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

test('secrets on disk: off Windows as text in a file of mode 0600 (folder 0700); on Windows sealed with DPAPI, never as text (mode bits mean nothing there)', async () => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('alice', alice);
  const text = readFileSync(file, 'utf8');
  const stored = JSON.parse(text).users.alice.smtp.password;
  if (WINDOWS) {
    expect(store.secrets).toBe('dpapi');
    expect(text).not.toContain('S3cret-pw');
    expect(stored).toEqual({ dpapi: expect.stringMatching(BASE64) });
  } else {
    expect(store.secrets).toBe('file-permissions');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(stored).toBe('S3cret-pw');
  }
  expect((await store.get('alice'))?.smtp?.password).toBe('S3cret-pw');
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

/** A pid that no process has: a child that has exited. */
function deadPid(): number {
  const proc = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(proc.stdout);
}

function exited(proc: ReturnType<typeof child>): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stderr })));
}

describe('update(): read, change and write under the lock', () => {
  test('the change sees the current settings with secrets masked; a masked secret is kept as stored, a new one replaces it', async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('alice', alice);
    let seen: unknown;
    const saved = await store.update('alice', (current) => {
      seen = structuredClone(current);
      return { ...current, label: 'Alice M.' };
    });
    expect(seen).toMatchObject({ label: 'Alice', smtp: { password: '********' } });
    expect(saved).toMatchObject({ label: 'Alice M.', smtp: { password: '********' } });
    expect((await store.get('alice'))?.smtp?.password).toBe('S3cret-pw');
    await store.update('alice', (current) => ({ ...current, smtp: { ...current?.smtp, password: 'n3w-pw' } }));
    expect((await store.get('alice'))?.smtp?.password).toBe('n3w-pw');
    // set() keeps a masked secret too: listed settings written back lose no password.
    await store.set('alice', (await store.list())[0].settings);
    expect((await store.get('alice'))?.smtp?.password).toBe('n3w-pw');
    // The mask where nothing is stored is refused, with its path.
    const err = await code(store.set('bob', { ...bob, customize: true, protocol: 'mapi', mapi: { password: '********' } }));
    expect(err.problems?.map((p) => p.path)).toEqual(['mapi.password']);
  });

  test('a change that changes nothing writes nothing (the file and its .bak stay as they are)', async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('bob', bob);
    await store.set('bob', { ...bob, label: 'Robert' });
    const [disk, bak] = [readFileSync(file, 'utf8'), readFileSync(`${file}.bak`, 'utf8')];
    const mtime = statSync(file).mtimeMs;
    await store.update('bob', (current) => current);
    expect(readFileSync(file, 'utf8')).toBe(disk);
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(bak);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  test('two processes updating different fields of the SAME user lose no update', async () => {
    const file = storeFile();
    await openSettingsStore(file).set('dave', { email: 'dave@example.com', label: '0' });
    const writer = (field: 'label' | 'importance') =>
      child(
        `
    (async () => {
      const store = openSettingsStore(process.env.FILE);
      for (let i = 0; i < 20; i++) {
        await store.update('dave', (s) =>
          '${field}' === 'label'
            ? { ...s, label: String(Number(s.label) + 1) }
            : { ...s, defaults: { ...s.defaults, importance: s.defaults.importance === 'high' ? 'low' : 'high' }, email: 'd' + i + '@example.com' },
        );
      }
    })().catch((e) => { console.error(e); process.exit(1); });
  `,
        { FILE: file },
      );
    const results = await Promise.all([exited(writer('label')), exited(writer('importance'))]);
    expect(results).toEqual([
      { code: 0, stderr: '' },
      { code: 0, stderr: '' },
    ]);
    const dave = await openSettingsStore(file).get('dave');
    expect(dave).toMatchObject({ label: '20', email: 'd19@example.com', defaults: { importance: 'low' } });
  });
});

describe('a secret that cannot be opened here (a DPAPI blob on Linux)', () => {
  function withBlob(): { file: string; store: ReturnType<typeof openSettingsStore> } {
    const file = storeFile();
    const users = {
      a: { ...alice, smtp: { ...alice.smtp, password: { dpapi: 'AAAA' } } },
      bob: { ...bob, customize: false },
    };
    require('node:fs').mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ version: 1, users }), { mode: 0o600 });
    return { file, store: openSettingsStore(file) };
  }

  test('list, remove of another user, and replacing that secret work without opening it; the stored blob is carried as is', async () => {
    const { file, store } = withBlob();
    const listed = await store.list();
    expect(listed.map((u) => [u.userId, u.settings.smtp?.password])).toEqual([
      ['a', '********'],
      ['bob', undefined],
    ]);
    expect(await store.remove('bob')).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).users.a.smtp.password).toEqual({ dpapi: 'AAAA' });
    await store.update('a', (s) => ({ ...s, label: 'A' }));
    expect(JSON.parse(readFileSync(file, 'utf8')).users.a.smtp.password).toEqual({ dpapi: 'AAAA' });
    expect((await store.get('a', { secrets: 'mask' }))?.label).toBe('A');
    await store.update('a', (s) => ({ ...s, smtp: { ...s?.smtp, password: 'fresh' } }));
    expect((await store.get('a'))?.smtp?.password).toBe('fresh');
  });

  test('get() and mailerFor() of that user fail with SECRET_UNREADABLE, its path and how to set it again; getReadable() masks it', async () => {
    const { store } = withBlob();
    for (const err of [await code(store.get('a')), await code(store.mailerFor('a'))]) {
      expect(err.code).toBe('SECRET_UNREADABLE');
      expect(err.message).toMatch(/users\.a\.smtp\.password/);
      // A command cmd and PowerShell run as is (it prompts for the secret), not a POSIX pipe.
      expect(err.hint).toMatch(/Set it again \(it prompts for the secret\): oxymail settings set a --secret-stdin smtp\.password$/);
      expect(err.hint).not.toMatch(/printf|\$SECRET|\|/);
    }
    const readable = await store.getReadable('a');
    expect(readable?.settings.smtp?.password).toBe('********');
    expect(readable?.unreadable.map((u) => [u.path, u.error.code])).toEqual([['smtp.password', 'SECRET_UNREADABLE']]);
  });
});

test('the fix a hint suggests is a command cmd, PowerShell and POSIX shells all read alike: the user id bare or in double quotes', () => {
  expect(setAgain('alice@example.com', 'smtp.password')).toBe(
    'Set it again (it prompts for the secret): oxymail settings set alice@example.com --secret-stdin smtp.password',
  );
  expect(shellWord('Alice Martin')).toBe('"Alice Martin"');
  expect(shellWord("o'brien")).toBe('"o\'brien"');
  expect(shellWord('a,b')).toBe('"a,b"'); // a comma would split the argument in PowerShell
  expect(shellWord('@team')).toBe('"@team"'); // a leading @ is splatting in PowerShell
  // Only what no quoting reads alike everywhere falls back to POSIX single quotes.
  expect(shellWord('100%"off"')).toBe(`'100%"off"'`);
});

test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])('the user id %s is refused (TypeError) and nothing is stored', async (id) => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  const before = readFileSync(file, 'utf8');
  await expect(store.set(id, bob)).rejects.toThrow(TypeError);
  await expect(store.update(id, () => bob)).rejects.toThrow(/reserved/);
  await expect(store.remove(id)).rejects.toThrow(TypeError);
  await expect(store.get(id)).rejects.toThrow(TypeError);
  expect(readFileSync(file, 'utf8')).toBe(before);
  // In an import (setMany), the id is a problem with its path, and nothing is written.
  const err = await code(store.setMany(JSON.parse(`{ "carol": { "email": "carol@example.com" }, "${id}": { "email": "x@example.com" } }`)));
  expect(err.code).toBe('INVALID_SETTINGS');
  expect(err.problems?.map((p) => p.path)).toEqual([`users.${id}`]);
  expect(readFileSync(file, 'utf8')).toBe(before);
  // A hand-edited file holding such a user is read without touching a prototype.
  writeFileSync(file, `{ "version": 1, "users": { "${id}": { "email": "x@example.com" }, "bob": { "email": "bob@example.com" } } }`);
  expect((await store.list()).map((u) => u.userId).sort()).toEqual([id, 'bob'].sort());
  expect(await store.get('bob')).toMatchObject({ email: 'bob@example.com' });
  expect(({} as Record<string, unknown>).email).toBeUndefined();
});

test.each([
  ['0.5', 'version', /must be an integer from 0 to 1/],
  ['-1', 'version', /must be an integer from 0 to 1/],
  ['"1"', 'version', /must be an integer from 0 to 1/],
  ['null', 'version', /must be an integer from 0 to 1/],
])('"version": %s is INVALID_SETTINGS at %s, and nothing is overwritten', async (version, at, message) => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  const text = `{ "version": ${version}, "users": { "bob": { "email": "bob@example.com" } } }`;
  writeFileSync(file, text);
  for (const op of [() => store.list(), () => store.get('bob'), () => store.set('alice', alice), () => store.remove('bob')]) {
    const err = await code(op());
    expect(err).toBeInstanceOf(MailError);
    expect(err.code).toBe('INVALID_SETTINGS');
    expect(err.problems).toEqual([{ path: at, message: expect.stringMatching(message) }]);
  }
  expect(readFileSync(file, 'utf8')).toBe(text);
});

test.each([
  ['12345', /must be a string, or \{ "dpapi": "<base64>" \}/],
  ['{ "dpapi": 5 }', /must be a string, or/],
  ['{ "dpapi": "not base64!" }', /must be a string, or/],
  ['["x"]', /must be a string, or/],
])('a stored secret %s is INVALID_SETTINGS at its path (not "encrypted with DPAPI")', async (value, message) => {
  const file = storeFile();
  const store = openSettingsStore(file);
  await store.set('bob', bob);
  writeFileSync(
    file,
    `{ "version": 1, "users": { "a": { "email": "a@example.com", "customize": true, "protocol": "smtp", "smtp": { "host": "h.example.com", "username": "a", "password": ${value} } } } }`,
  );
  for (const op of [() => store.list(), () => store.get('a'), () => store.getReadable('a'), () => store.set('bob', bob)]) {
    const err = await code(op());
    expect(err.code).toBe('INVALID_SETTINGS');
    expect(err.problems).toEqual([{ path: 'users.a.smtp.password', message: expect.stringMatching(message) }]);
  }
});

describe('the lock', () => {
  test('an empty lock file (a writer died before writing its pid) older than 2 s is taken over at once', async () => {
    const file = storeFile();
    const store = openSettingsStore(file, { lockTimeoutMs: 1000 });
    await store.set('bob', bob);
    writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 5000);
    utimesSync(`${file}.lock`, old, old);
    await store.set('alice', alice); // lockTimeoutMs: 1000 would have failed it, had it waited
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect((await store.list()).map((u) => u.userId)).toEqual(['alice', 'bob']);
  });

  test('a fresh empty lock is waited for (its writer is starting), and says so; a live holder times out with SETTINGS_LOCKED', async () => {
    const file = storeFile();
    const waits: string[] = [];
    const store = openSettingsStore(file, { lockTimeoutMs: 8000, onLockWait: (h) => waits.push(h) });
    await store.set('bob', bob);
    writeFileSync(`${file}.lock`, '');
    const started = Date.now();
    await store.set('alice', alice);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(waits).toEqual(['a process that has not written its pid yet']);

    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      writeFileSync(`${file}.lock`, String(holder.pid));
      const err = await code(openSettingsStore(file, { lockTimeoutMs: 300 }).set('carol', { email: 'carol@example.com' }));
      expect(err.code).toBe('SETTINGS_LOCKED');
      expect(err.message).toContain(`locked by process ${holder.pid}`);
    } finally {
      holder.kill();
    }
  });

  test('writers racing for one stale lock: exactly one takes it over at a time, no update is lost', async () => {
    const file = storeFile();
    await openSettingsStore(file).set('dave', { email: 'dave@example.com', label: '0' });
    writeFileSync(`${file}.lock`, String(deadPid()));
    const writer = () =>
      child(
        `
    (async () => {
      const store = openSettingsStore(process.env.FILE);
      for (let i = 0; i < 10; i++) await store.update('dave', (s) => ({ ...s, label: String(Number(s.label) + 1) }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `,
        { FILE: file },
      );
    const results = await Promise.all([1, 2, 3, 4].map(() => exited(writer())));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect((await openSettingsStore(file).get('dave'))?.label).toBe('40');
    expect(readdirSync(path.dirname(file)).filter((f) => f.includes('.lock'))).toEqual([]);
  });

  test("a crashed writer's temp file (it holds the secrets) is removed by the next write; a live writer's is left alone", async () => {
    const file = storeFile();
    const store = openSettingsStore(file);
    await store.set('alice', alice);
    const dir = path.dirname(file);
    const stale = `${file}.${deadPid()}.0badc0de.tmp`;
    writeFileSync(stale, readFileSync(file));
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const fresh = `${file}.${live.pid}.00c0ffee.tmp`;
      writeFileSync(fresh, '{}');
      const other = path.join(dir, 'other.json.1.deadbeef.tmp');
      writeFileSync(other, '{}');
      await store.set('bob', bob);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(other)).toBe(true); // another store's
    } finally {
      live.kill();
    }
  });
});
