/**
 * EACCES on the settings store, for real: the CLI (the built dist) runs in a child process that
 * file modes apply to (test/helpers/unprivileged.ts: uid 65534 when the suite runs as root, else
 * chmod is enough).
 * A store it may read but not write still sends (a real smtp-server on loopback gets the message)
 * and refuses changes with STORE_ACCESS naming the folder; a store it may not read is STORE_ACCESS
 * with the "may not read" hint, and nothing is sent.
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSettingsStore } from '../../lib';
import { tempDir } from '../helpers/fixtures';
import { smtpSettings, startServer, TestServer } from '../helpers/server';
import { unprivileged } from '../helpers/unprivileged';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const child = unprivileged(BIN);

function cli(storeFile: string, args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(child.command, [...child.prefix, BIN, '--store', storeFile, ...args, '--json'], {
      env: { ...process.env, NO_COLOR: '1', OXYMAIL_LANG: 'en' },
      ...(child.ids ?? {}),
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, json: stdout.trim() ? JSON.parse(stdout) : undefined, stderr }));
  });
}

let server: TestServer;
let dir: string;
let storeFile: string;
beforeEach(async () => {
  server = await startServer();
  dir = tempDir();
  // The unprivileged child must be able to reach the store (mkdtemp makes folders 0700).
  chmodSync(dir, 0o755);
  storeFile = path.join(dir, 'users.json');
  await openSettingsStore(storeFile).set('bob', smtpSettings(server.port));
});
afterEach(async () => {
  chmodSync(dir, 0o755);
  chmodSync(storeFile, 0o600);
  await server.close();
});

const send = ['send', '--user', 'bob', '--to', 'carol@example.com', '--subject', 'Relance', '--text', 'Bonjour'];

test(`a store it may read but not write (${child.how}): sends; a change is STORE_ACCESS naming the folder, nothing written`, async () => {
  chmodSync(storeFile, 0o444);
  chmodSync(dir, 0o555);
  const before = readFileSync(storeFile, 'utf8');

  const sent = await cli(storeFile, send);
  expect(sent.code).toBe(0);
  expect(server.received.map((r) => r.parsed.subject)).toEqual(['Relance']);

  const set = await cli(storeFile, ['settings', 'set', 'bob', 'label=Bobby']);
  expect(set.code).toBe(1);
  expect(set.json.error.code).toBe('STORE_ACCESS');
  expect(set.json.error.message).toContain(`${storeFile}.lock`);
  expect(set.json.error.message).toMatch(/EACCES/);
  expect(set.json.error.hint).toBe(
    `This account may not create files in ${dir} (the lock and temp files of the store go there): check the folder's owner and rights (or choose another store with --store FILE).`,
  );
  expect(set.stderr).toContain('[STORE_ACCESS]');
  expect(readFileSync(storeFile, 'utf8')).toBe(before);

  const list = await cli(storeFile, ['settings', 'list']);
  expect(list.code).toBe(0);
  expect(list.json.map((u: { userId: string }) => u.userId)).toEqual(['bob']);
});

test(`a store it may not read (${child.how}): STORE_ACCESS with the "may not read" hint, nothing sent`, async () => {
  chmodSync(storeFile, 0o000);
  for (const args of [['settings', 'list'], send]) {
    const r = await cli(storeFile, args);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('STORE_ACCESS');
    expect(r.json.error.message).toBe(`settings: could not read ${storeFile}: EACCES: permission denied, open '${storeFile}'`);
    expect(r.json.error.hint).toBe(`This account may not read ${storeFile}: check its owner and rights (or choose another store with --store FILE).`);
  }
  expect(server.received).toHaveLength(0);
});
