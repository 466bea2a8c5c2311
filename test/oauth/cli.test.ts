/**
 * `oxymail auth` end to end: the real binary (dist), a real OpenID provider (oidc-provider) whose
 * pages the test fills in as the person signing in, and a real SMTP server that checks each
 * XOAUTH2 token with the provider. No token ever appears in what the commands print.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { openSettingsStore } from '../../lib';
import { tempDir } from '../helpers/fixtures';
import { smtpSettings } from '../helpers/server';
import { oidcSettings, Person, useOAuthStack } from './helpers';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const USER = 'alice@example.com';

let storeFile: string;
/** Everything the commands printed, to check that no token is in it. */
const printed: string[] = [];
const children: ChildProcess[] = [];
// (Declared before the OAuth2 bench's: the commands still running end before their servers stop.)
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
});
const stack = useOAuthStack();
beforeAll(() => {
  storeFile = path.join(tempDir(), 'users.json');
});

interface Run {
  child: ChildProcess;
  lines: AsyncIterableIterator<string>;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

function start(args: string[], input?: string): Run {
  const child = spawn(process.execPath, [BIN, '--store', storeFile, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (input !== undefined) child.stdin.end(input);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code: code ?? 1, stdout, stderr });
    }),
  );
  return { child, lines, done };
}

const run = (args: string[], input?: string) => start(args, input).done;
/** Every refresh token the store held. */
const refreshTokens: string[] = [];
const storedToken = async () => {
  const t = (await openSettingsStore(storeFile).get('alice'))?.smtp?.oauth2?.refreshToken;
  if (t) refreshTokens.push(t);
  return t;
};

test('settings: smtp.oauth2 is set like the rest; the refresh token is refused on the command line and read by --secret-stdin', async () => {
  await openSettingsStore(storeFile).set('alice', smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer) }));
  const refused = await run(['settings', 'set', 'alice', 'smtp.oauth2.refreshToken=abc']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('--secret-stdin smtp.oauth2.refreshToken');
  const viaStdin = await run(['settings', 'set', 'alice', '--secret-stdin', 'smtp.oauth2.refreshToken'], 'typed-by-hand-token\n');
  expect(viaStdin.code).toBe(0);
  expect(await storedToken()).toBe('typed-by-hand-token');
  const shown = await run(['settings', 'show', 'alice']);
  expect(shown.stdout).toMatch(/smtp\.oauth2\.refreshToken\s+\*{8}/);
  expect(shown.stdout).not.toContain('typed-by-hand-token');
  expect(shown.stdout).toMatch(/smtp\.oauth2\.scopes\s+openid offline_access smtp/);
});

test('auth login (device flow): the URL and code on stdout through a pipe, the person signs in, the refresh token is stored; then send, status, rotation, logout', async () => {
  // Sign in: the code comes on stdout (a pipe here); the test plays the person at the provider's pages.
  const login = start(['auth', 'login', 'alice']);
  let complete: string | undefined;
  let code: string | undefined;
  for await (const line of login.lines) {
    code ??= /enter the code: (\S+)/.exec(line)?.[1];
    complete = /\(or open (\S+)\)/.exec(line)?.[1];
    if (complete) break;
  }
  expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
  expect(complete).toContain(`${stack.provider.issuer}/device?user_code=`);
  const page = await new Person(stack.provider.issuer, USER).signIn(complete as string);
  expect(page.text).toMatch(/Sign-in Success|success/i);
  const loggedIn = await login.done;
  expect(loggedIn.stderr).toMatch(/Waiting for the sign-in: \d+:\d\d left/);
  expect(loggedIn.code).toBe(0);
  expect(loggedIn.stdout).toContain(`signed in alice as ${USER}`);
  const first = await storedToken();
  expect(first).toEqual(expect.any(String));
  expect(first).not.toBe('typed-by-hand-token');
  if (process.platform !== 'win32') expect(statSync(storeFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(storeFile, 'utf8')).toContain('"refreshToken"');

  // Send: the refresh rotates the token, and the store has the new one.
  const before = stack.server.received.length;
  const sent = await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Par OAuth2', '--text', 'Bonjour']);
  expect(sent.code).toBe(0);
  expect(stack.server.received.slice(before).map((r) => [r.user, r.parsed.subject])).toEqual([[USER, 'Par OAuth2']]);
  const second = await storedToken();
  expect(second).not.toBe(first);
  expect((await stack.provider.introspect(first as string)).active).toBe(false);

  // Status: who, the scopes, the lifetime; never a token.
  const status = await run(['auth', 'status', 'alice', '--json']);
  expect(status.code).toBe(0);
  const s = JSON.parse(status.stdout);
  expect(s).toMatchObject({ user: 'alice', signedIn: true, provider: 'oidc', xoauth2User: USER, account: { sub: USER } });
  expect(s.scope.split(' ')).toEqual(expect.arrayContaining(['openid', 'offline_access', 'smtp']));
  expect(s.lifetimeSeconds).toBeGreaterThan(0);
  const human = await run(['auth', 'status', 'alice']);
  expect(human.stdout).toMatch(/signed in: alice at http:\/\/127\.0\.0\.1:\d+ as alice@example\.com/);
  expect(human.stdout).toMatch(/access token: refreshed now, valid \d+ s/);

  // The doctor: signed in, the refresh works (and its rotation is saved), the XOAUTH2 login is accepted.
  const beforeDoctor = await storedToken();
  const doctor = await run(['doctor', '--user', 'alice', '--json']);
  const line = JSON.parse(doctor.stdout).lines.find((l: { id: string }) => l.id === 'smtp.oauth2');
  expect(line).toMatchObject({ verdict: 'ok', title: expect.stringMatching(/signed in as alice@example\.com, refresh works, XOAUTH2 login accepted/) });
  expect(line.detail).toMatch(/Scopes: .*smtp/);
  expect(await storedToken()).not.toBe(beforeDoctor);

  // The next send (a new process) still works with the newest stored token.
  const again = await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Encore', '--text', 'x']);
  expect(again.code).toBe(0);
  expect(stack.server.received.at(-1)?.parsed.subject).toBe('Encore');

  // Logout: revoked at the provider, forgotten here; a send then says to sign in, and sends nothing.
  const last = (await storedToken()) as string;
  const out = await run(['auth', 'logout', 'alice']);
  expect(out.code).toBe(0);
  expect(out.stdout).toContain('revoked at the provider and removed from the settings');
  expect(await storedToken()).toBeUndefined();
  expect((await stack.provider.introspect(last)).active).toBe(false);
  const count = stack.server.received.length;
  const refused = await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Non', '--text', 'x', '--json']);
  expect(refused.code).toBe(1);
  expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'OAUTH_SIGNIN_REQUIRED', hint: expect.stringContaining('oxymail auth login alice') });
  expect(stack.server.received.length).toBe(count);
  const doctorOut = JSON.parse((await run(['doctor', '--user', 'alice', '--json'])).stdout);
  expect(doctorOut.failed).toBe(true);
  expect(doctorOut.lines.find((l: { id: string }) => l.id === 'smtp.oauth2')).toMatchObject({
    verdict: 'fail',
    title: expect.stringContaining('not signed in'),
    detail: expect.stringContaining('oxymail auth login alice'),
  });
  const notSignedIn = await run(['auth', 'status', 'alice']);
  expect(notSignedIn.code).toBe(1);
  expect(notSignedIn.stdout).toContain('not signed in');
}, 120_000); // a dozen processes and the device flow's 5 s polling interval: generous for a loaded CI machine

test('auth login --flow browser (what Google gets): the URL to open on stdout, the loopback redirect completes the sign-in', async () => {
  await openSettingsStore(storeFile).set(
    'carol',
    smtpSettings(stack.server.port, { username: 'carol@example.com', oauth2: oidcSettings(stack.provider.issuer) }, { email: 'carol@example.com' }),
  );
  const login = start(['auth', 'login', 'carol', '--flow', 'browser', '--json']);
  let url: string | undefined;
  for await (const line of login.lines) {
    const event = JSON.parse(line);
    if (event.event === 'open_url') {
      url = event.url;
      break;
    }
  }
  expect(url).toMatch(new RegExp(`^${stack.provider.issuer}/auth\\?`));
  expect(new URL(url as string).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  expect(new URL(url as string).searchParams.get('code_challenge_method')).toBe('S256');
  const landed = await new Person(stack.provider.issuer, 'carol@example.com').signIn(url as string);
  expect(landed.text).toContain('Signed in');
  const done = await login.done;
  expect(done.code).toBe(0);
  const last = JSON.parse(done.stdout.trim().split('\n').at(-1) as string);
  expect(last).toMatchObject({ event: 'signed_in', user: 'carol', account: { sub: 'carol@example.com' } });
  const t = (await openSettingsStore(storeFile).get('carol'))?.smtp?.oauth2?.refreshToken;
  expect(t).toEqual(expect.any(String));
  refreshTokens.push(t as string);
  const before = stack.server.received.length;
  expect((await run(['send', '--user', 'carol', '--to', 'bob@example.com', '--subject', 'carol', '--text', 'x'])).code).toBe(0);
  expect(stack.server.received.slice(before).map((r) => r.user)).toEqual(['carol@example.com']);

  // A --settings file is not written back: a rotation is announced on stderr.
  const current = (await openSettingsStore(storeFile).get('carol')) as object;
  const file = path.join(tempDir(), 'carol.json');
  writeFileSync(file, JSON.stringify(current));
  const fromFile = await run(['send', '--settings', file, '--to', 'bob@example.com', '--subject', 'file', '--text', 'x']);
  expect(fromFile.code).toBe(0);
  expect(fromFile.stderr).toContain(`warning: the OAuth2 provider issued a new refresh token; ${file} still holds the previous one`);
  refreshTokens.push((await openSettingsStore(storeFile).get('carol'))?.smtp?.oauth2?.refreshToken as string);
}, 120_000); // a dozen processes and the device flow's 5 s polling interval: generous for a loaded CI machine

test('no token in anything the commands printed', async () => {
  const access = stack.server.attempts.map((a) => a.token).filter(Boolean);
  expect(access.length).toBe(5); // four sends and the doctor's login
  const tokens = [...access, ...new Set(refreshTokens)];
  expect(tokens.length).toBeGreaterThanOrEqual(6);
  const all = printed.join('\n');
  expect(all.length).toBeGreaterThan(100);
  for (const t of tokens) expect(all).not.toContain(t);
});
