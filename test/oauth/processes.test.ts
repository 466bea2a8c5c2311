/**
 * Two processes, one store: the application and the CLI (here two node children running the built
 * dist) both send at once with an expired access token. Their refreshes are serialised by the
 * store's lock and the second uses the access token the first just got: the real OpenID provider
 * sees exactly one refresh-token grant, the real XOAUTH2 SMTP server gets both messages, and the
 * grant stays valid (a rotated refresh token used twice would be refused, and the grant revoked).
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { openSettingsStore, signIn } from '../../lib';
import { tempDir } from '../helpers/fixtures';
import { smtpSettings } from '../helpers/server';
import { unprivileged } from '../helpers/unprivileged';
import { oidcSettings, Person, useOAuthStack } from './helpers';

const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');
const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const USER = 'alice@example.com';

const children: ChildProcessWithoutNullStreams[] = [];
// (Declared before the OAuth2 bench's: the processes still running end before their servers stop.)
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
});
const stack = useOAuthStack();

/** A process that opens the store's mailer for alice, says "ready", and sends one message when told "go". */
const CHILD = `
const { openSettingsStore } = require(${JSON.stringify(DIST)});
(async () => {
  const mailer = await openSettingsStore(process.argv[1]).mailerFor('alice');
  process.stdout.write('ready\\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  try {
    const result = await mailer.send({ to: 'bob@example.com', subject: process.argv[2], text: 'x' });
    process.stdout.write(JSON.stringify({ accepted: result.accepted }) + '\\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: e.code, message: e.message }) + '\\n');
  }
  await mailer.close();
})();
`;

function sender(storeFile: string, subject: string) {
  const child = spawn(process.execPath, ['-e', CHILD, storeFile, subject], { stdio: 'pipe' });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the ${subject} process ended early: ${stderr}`);
    return value as string;
  };
  return { child, next, stderr: () => stderr };
}

const grants = async () => (await stack.provider.stats()).byGrant.refresh_token ?? 0;

test('two processes refreshing at once: one refresh-token grant, both sends delivered, the grant still valid', async () => {
  const storeFile = path.join(tempDir(), 'users.json');
  const store = openSettingsStore(storeFile);
  await store.set('alice', smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer) }));
  const person = new Person(stack.provider.issuer, USER);
  const { refreshToken } = await signIn((await store.get('alice')) as never, { flow: 'browser', openUrl: (url) => void person.signIn(url) });
  await store.saveRefreshToken('alice', refreshToken);

  // A first send with a 1-second access token: the shared one it leaves in the store expires.
  await stack.provider.setAccessTtl(1);
  const app = await store.mailerFor('alice');
  try {
    await app.send({ to: 'bob@example.com', subject: 'first', text: '1' });
    const tokensFile = `${storeFile}.tokens`;
    const shared = readFileSync(tokensFile, 'utf8');
    expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
    const saved = (await store.get('alice'))?.smtp?.oauth2?.refreshToken as string;
    // The refresh token is not in it (a fingerprint only); the access token the server accepted is.
    expect(shared).not.toContain(saved);
    expect(shared).toContain(stack.server.attempts[stack.server.attempts.length - 1].token);
    const expiresAt = JSON.parse(shared).users.alice.expiresAt as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
    await stack.provider.setAccessTtl(3600);

    const before = await grants();
    const errorsBefore = (await stack.provider.stats()).errors;
    const one = sender(storeFile, 'from the app');
    const two = sender(storeFile, 'from the CLI');
    expect([await one.next(), await two.next()]).toEqual(['ready', 'ready']);
    one.child.stdin.write('go\n');
    two.child.stdin.write('go\n');
    const results = [JSON.parse(await one.next()), JSON.parse(await two.next())];
    expect(results).toEqual([{ accepted: ['bob@example.com'] }, { accepted: ['bob@example.com'] }]);
    expect(await grants()).toBe(before + 1);
    expect((await stack.provider.stats()).errors).toEqual(errorsBefore);
    expect(
      stack.server.received
        .map((r) => r.parsed.subject)
        .slice(-2)
        .sort(),
    ).toEqual(['from the CLI', 'from the app']);
    // Both logged in with the one access token the single refresh gave.
    const [a, b] = stack.server.attempts.slice(-2);
    expect(a.active && b.active).toBe(true);
    expect(a.token).toBe(b.token);

    // The grant is intact: the newest refresh token is active, and the app's own mailer (its access
    // token expired in memory) takes the shared one without a refresh of its own.
    const newest = (await store.get('alice'))?.smtp?.oauth2?.refreshToken as string;
    expect((await stack.provider.introspect(newest)).active).toBe(true);
    await app.send({ to: 'bob@example.com', subject: 'after', text: '3' });
    expect(await grants()).toBe(before + 1);
    for (const c of [one, two]) expect(c.stderr()).toBe('');
  } finally {
    await app.close();
    await stack.provider.setAccessTtl(3600);
  }
});

test('a store this process may read but not write: the refresh is refused before the provider is asked (STORE_ACCESS), the grant untouched', async () => {
  const dir = tempDir();
  const storeFile = path.join(dir, 'users.json');
  const store = openSettingsStore(storeFile);
  await store.set('alice', smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer) }));
  const person = new Person(stack.provider.issuer, USER);
  const { refreshToken } = await signIn((await store.get('alice')) as never, { flow: 'browser', openUrl: (url) => void person.signIn(url) });
  await store.saveRefreshToken('alice', refreshToken);
  // Without the lock, it would refresh and then fail to save the rotated token: the sign-in would be lost.
  chmodSync(storeFile, 0o444);
  chmodSync(dir, 0o555);
  const child = unprivileged(BIN);
  const before = await grants();
  const received = stack.server.received.length;
  try {
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const p = spawn(
        child.command,
        [...child.prefix, BIN, '--store', storeFile, 'send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'ro', '--text', 'x', '--json'],
        { env: { ...process.env, OXYMAIL_LANG: 'en' }, ...(child.ids ?? {}) },
      );
      children.push(p);
      let stdout = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(1);
    const { error } = JSON.parse(out.stdout);
    expect(error.code).toBe('STORE_ACCESS');
    expect(error.message).toContain(`${storeFile}.oauth.lock`);
    expect(error.hint).toContain(`may not create files in ${dir}`);
    expect(out.stdout).not.toContain(refreshToken);
  } finally {
    chmodSync(dir, 0o755);
    chmodSync(storeFile, 0o600);
  }
  expect(await grants()).toBe(before);
  expect(stack.server.received).toHaveLength(received);
  expect((await stack.provider.introspect(refreshToken)).active).toBe(true);
});
