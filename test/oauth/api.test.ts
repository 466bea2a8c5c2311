/**
 * OAuth2 through the API against a real OpenID provider (oidc-provider) and a real SMTP server
 * whose XOAUTH2 login asks that provider about the token: browser sign-in (authorization code +
 * PKCE, loopback redirect), sends, refresh before expiry, one refresh for concurrent sends,
 * rotation, revocation, a refused token.
 */
import { inspect } from 'node:util';
import { createMailer, MailError } from '../../lib';
import { signIn, signOut } from '../../lib/oauth/signin';
import { smtpSettings } from '../helpers/server';
import { oidcSettings, Person, startOAuthSmtpServer, useOAuthStack } from './helpers';

const stack = useOAuthStack();

const USER = 'alice@example.com';
const settingsFor = (refreshToken?: string) =>
  smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer, refreshToken ? { refreshToken } : {}) });

/** Signs in through the browser flow, the test playing the person at the browser. */
async function browserSignIn(login = USER) {
  const person = new Person(stack.provider.issuer, login);
  let landed: { url: string; text: string } | undefined;
  const result = await signIn(settingsFor(), {
    flow: 'browser',
    openUrl: async (url) => {
      landed = await person.signIn(url);
    },
  });
  return { result, landed: landed as { url: string; text: string } };
}

test('browser sign-in (code + PKCE, loopback redirect) gives a refresh token, and a send logs in with XOAUTH2 checked by the provider', async () => {
  const { result, landed } = await browserSignIn();
  expect(landed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
  expect(landed.text).toContain('Signed in');
  expect(result.refreshToken).toEqual(expect.any(String));
  expect(result.account?.sub).toBe(USER);
  expect(result.scope?.split(' ')).toEqual(expect.arrayContaining(['smtp', 'offline_access']));
  // Printing the result never shows the token.
  expect(inspect(result) + JSON.stringify(result)).not.toContain(result.refreshToken);

  const before = stack.server.received.length;
  const mailer = createMailer(settingsFor(result.refreshToken));
  try {
    const sent = await mailer.send({ to: 'bob@example.com', subject: 'OAuth2', text: 'Bonjour' });
    expect(sent.accepted).toEqual(['bob@example.com']);
  } finally {
    mailer.close();
  }
  expect(stack.server.received.length).toBe(before + 1);
  expect(stack.server.received[before].user).toBe(USER);
  expect(stack.server.received[before].parsed.subject).toBe('OAuth2');
});

/** Waits until the provider itself says the token is no longer active (its lifetime passed). */
async function untilInactive(token: string): Promise<void> {
  while ((await stack.provider.introspect(token)).active) await new Promise((r) => setTimeout(r, 250));
}

/** A token source that records the tokens it hands out (the test's view; the mailer never exposes them). */
function recording(source: { user: string; getAccessToken(o?: { forceRefresh?: boolean }): Promise<string> }) {
  const handed: string[] = [];
  return {
    handed,
    user: source.user,
    getAccessToken: async (o?: { forceRefresh?: boolean }) => {
      const t = await source.getAccessToken(o);
      handed.push(t);
      return t;
    },
  };
}

test('an access token that expired between two sends is refreshed; the new refresh token goes to onTokens and the old one is refused', async () => {
  const { result } = await browserSignIn();
  await stack.provider.setAccessTtl(2);
  const saved: string[] = [];
  const { createTokenSource } = await import('../../lib/oauth/token-source');
  const source = createTokenSource({
    oauth2: oidcSettings(stack.provider.issuer, { refreshToken: result.refreshToken }) as never,
    user: USER,
    onTokens: (t) => void saved.push(t.refreshToken),
  });
  const rec = recording(source);
  const mailer = createMailer(settingsFor(), { tokenSource: rec });
  const before = stack.server.received.length;
  const hits = (await stack.provider.stats()).byGrant.refresh_token ?? 0;
  try {
    await mailer.send({ to: 'bob@example.com', subject: 'first', text: '1' });
    const first = rec.handed[0];
    await untilInactive(first);
    // The provider counts whole seconds (its exp is floored): past its expiry, ours may be up to 1 s away.
    await new Promise((r) => setTimeout(r, 1000));
    await mailer.send({ to: 'bob@example.com', subject: 'second', text: '2' });
    const latest = rec.handed.at(-1) as string;
    expect(latest).not.toBe(first);
    expect((await stack.provider.introspect(latest)).active).toBe(true);
  } finally {
    mailer.close();
    await stack.provider.setAccessTtl(3600);
  }
  expect(stack.server.received.slice(before).map((r) => r.parsed.subject)).toEqual(['first', 'second']);
  expect((await stack.provider.stats()).byGrant.refresh_token).toBe(hits + 2);
  // Rotation: each refresh gave a new refresh token, handed over to be saved.
  expect(saved).toHaveLength(2);
  expect(new Set([result.refreshToken, ...saved]).size).toBe(3);
  // The newest one still works; an old one is refused by the provider.
  const again = createMailer(settingsFor(saved[1]));
  try {
    await again.send({ to: 'bob@example.com', subject: 'third', text: '3' });
  } finally {
    again.close();
  }
  const old = await stack.provider.refresh(result.refreshToken);
  expect(old.status).toBe(400);
  expect(old.body.error).toBe('invalid_grant');
});

test('ten concurrent sends share one refresh (counted at the provider token endpoint)', async () => {
  const { result } = await browserSignIn();
  const before = stack.server.received.length;
  const hits = (await stack.provider.stats()).byGrant.refresh_token ?? 0;
  const mailer = createMailer(settingsFor(result.refreshToken));
  try {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => mailer.send({ to: 'bob@example.com', subject: `n${i}`, text: 'x' })));
    expect(results.every((r) => r.accepted.length === 1)).toBe(true);
  } finally {
    mailer.close();
  }
  expect((await stack.provider.stats()).byGrant.refresh_token).toBe(hits + 1);
  expect(stack.server.received.length).toBe(before + 10);
});

test('a grant revoked at the provider: OAUTH_SIGNIN_REQUIRED with the sign-in hint, and nothing reaches the SMTP server', async () => {
  const { result } = await browserSignIn();
  await stack.provider.revoke(result.refreshToken);
  const before = { received: stack.server.received.length, attempts: stack.server.attempts.length };
  const mailer = createMailer(settingsFor(result.refreshToken));
  let caught: unknown;
  try {
    await mailer.send({ to: 'bob@example.com', subject: 'never', text: 'x' });
  } catch (err) {
    caught = err;
  } finally {
    mailer.close();
  }
  expect(caught).toBeInstanceOf(MailError);
  const e = caught as MailError;
  expect(e.code).toBe('OAUTH_SIGNIN_REQUIRED');
  expect(e.hint).toMatch(/sign in again/i);
  expect(stack.server.received.length).toBe(before.received);
  expect(stack.server.attempts.length).toBe(before.attempts);
  for (const text of [e.message, e.hint ?? '', JSON.stringify(e), inspect(e)]) expect(text).not.toContain(result.refreshToken);
});

test('XOAUTH2 refused once (the access token was revoked): refreshed, and the message is sent once on a new connection', async () => {
  const { result } = await browserSignIn();
  const source = (await import('../../lib/oauth/token-source')).createTokenSource({
    oauth2: oidcSettings(stack.provider.issuer, { refreshToken: result.refreshToken }) as never,
    user: USER,
  });
  const rec = recording(source);
  const first = await rec.getAccessToken();
  await stack.provider.revoke(first); // the access token only: the grant stays
  const before = { received: stack.server.received.length, attempts: stack.server.attempts.length };
  const mailer = createMailer(settingsFor(), { tokenSource: rec });
  try {
    await mailer.send({ to: 'bob@example.com', subject: 'once', text: 'x' });
  } finally {
    mailer.close();
  }
  expect(stack.server.attempts.slice(before.attempts).map((a) => a.active)).toEqual([false, true]);
  expect(stack.server.received.slice(before.received).map((r) => r.parsed.subject)).toEqual(['once']);
  expect(source.refreshes).toBe(2);
});

test('signOut revokes the refresh token at the provider', async () => {
  const { result } = await browserSignIn();
  expect((await signOut(settingsFor(), result.refreshToken)).revocation).toBe('revoked');
  expect((await stack.provider.refresh(result.refreshToken)).body.error).toBe('invalid_grant');
});

test('the provider unreachable (nothing listens): OAUTH_UNREACHABLE, and nothing reaches the SMTP server', async () => {
  const closed = await closedPort();
  const before = { received: stack.server.received.length, attempts: stack.server.attempts.length };
  const mailer = createMailer(
    smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(`http://127.0.0.1:${closed}`, { refreshToken: 'unused' }) }),
  );
  try {
    await expect(mailer.send({ to: 'bob@example.com', subject: 'x', text: 'x' })).rejects.toMatchObject({
      code: 'OAUTH_UNREACHABLE',
      hint: expect.any(String),
    });
  } finally {
    mailer.close();
  }
  expect(stack.server.received.length).toBe(before.received);
  expect(stack.server.attempts.length).toBe(before.attempts);
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('SMTP AUTH disabled for the mailbox (535 5.7.139): SMTP_AUTH with the administrator hint, no pointless refresh-and-retry, nothing sent', async () => {
  const { result } = await browserSignIn();
  const logins: string[] = [];
  const disabled = await startOAuthSmtpServer(stack.provider, {
    refuse: (user) => {
      logins.push(user);
      return { responseCode: 535, message: '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.' };
    },
  });
  const source = (await import('../../lib/oauth/token-source')).createTokenSource({
    oauth2: oidcSettings(stack.provider.issuer, { refreshToken: result.refreshToken }) as never,
    user: USER,
  });
  const mailer = createMailer(smtpSettings(disabled.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer) }), { tokenSource: source });
  try {
    const err = await mailer.send({ to: 'bob@example.com', subject: 'x', text: 'x' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'SMTP_AUTH', responseCode: 535, hint: expect.stringContaining('Set-CASMailbox') });
  } finally {
    mailer.close();
    await disabled.close();
  }
  expect(logins).toEqual([USER]);
  expect(source.refreshes).toBe(1);
  expect(disabled.received).toHaveLength(0);
  expect(inspect(source)).toBe(`OAuth2TokenSource { user: '${USER}', provider: 'oidc', signedIn: true }`);
});

test('device sign-in through the API: onUserCode gets the code, the person confirms it, the refresh token sends', async () => {
  const person = new Person(stack.provider.issuer, USER);
  let shown: import('../../lib').UserCodePrompt | undefined;
  let confirmed: Promise<unknown> | undefined;
  const result = await signIn(settingsFor(), {
    flow: 'device',
    onUserCode: (p) => {
      shown = p;
      confirmed = person.signIn(p.verificationUriComplete as string);
    },
  });
  await confirmed;
  expect(shown?.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
  expect(shown?.verificationUri).toBe(`${stack.provider.issuer}/device`);
  expect(shown?.expiresAt.getTime()).toBeGreaterThan(Date.now());
  const mailer = createMailer(settingsFor(result.refreshToken));
  try {
    expect((await mailer.send({ to: 'bob@example.com', subject: 'device', text: 'x' })).accepted).toEqual(['bob@example.com']);
  } finally {
    mailer.close();
  }
  expect(stack.server.received.at(-1)?.parsed.subject).toBe('device');
});

test('the person declines at the provider: OAUTH_SIGNIN_DENIED', async () => {
  const person = new Person(stack.provider.issuer, USER);
  const err = await signIn(settingsFor(), {
    flow: 'device',
    onUserCode: (p) => void person.abortDevice(p.verificationUriComplete as string),
  }).catch((e) => e);
  expect(err).toMatchObject({ code: 'OAUTH_SIGNIN_DENIED', hint: expect.any(String) });
});

test('doctor with OAuth2: the refresh works (its rotation handed to onTokens), and a tenant without SMTP AUTH is a FAIL line naming the switch', async () => {
  const { runDoctor } = await import('../../lib');
  const { result } = await browserSignIn();
  const disabled = await startOAuthSmtpServer(stack.provider, {
    refuse: () => ({ responseCode: 535, message: '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.' }),
  });
  const saved: string[] = [];
  try {
    const report = await runDoctor({
      settings: smtpSettings(disabled.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer, { refreshToken: result.refreshToken }) }),
      onTokens: (t) => void saved.push(t.refreshToken),
      userId: 'alice',
    });
    const oauth = report.lines.find((l) => l.id === 'smtp.oauth2');
    expect(oauth).toMatchObject({
      verdict: 'fail',
      title: expect.stringMatching(/signed in as alice@example\.com, refresh works, but the XOAUTH2 login was refused \(SMTP_AUTH\)/),
    });
    expect(oauth?.detail).toContain('Set-TransportConfig -SmtpClientAuthenticationDisabled $false');
    expect(report.lines.find((l) => l.id === 'smtp.login')).toMatchObject({ verdict: 'fail' });
    expect(report.failed).toBe(true);
    expect(saved).toHaveLength(1);
    expect(JSON.stringify(report)).not.toContain(saved[0]);
    expect(JSON.stringify(report)).not.toContain(result.refreshToken);
  } finally {
    await disabled.close();
  }
  // Without onTokens (nowhere to save a rotated token) the doctor does not refresh, and says so.
  const untried = await runDoctor({ settings: settingsFor(saved[0]) });
  expect(untried.lines.find((l) => l.id === 'smtp.oauth2')).toMatchObject({ verdict: 'info', title: expect.stringContaining('the refresh was not tried') });
});

test('a caller that gives up (its AbortSignal) does not cancel the refresh the others wait for', async () => {
  const { result } = await browserSignIn();
  const { createTokenSource } = await import('../../lib/oauth/token-source');
  const source = createTokenSource({ oauth2: oidcSettings(stack.provider.issuer, { refreshToken: result.refreshToken }) as never, user: USER });
  const controller = new AbortController();
  const quitter = source.getAccessToken({ signal: controller.signal });
  const patient = source.getAccessToken();
  controller.abort();
  await expect(quitter).rejects.toMatchObject({ code: 'ABORTED' });
  const token = await patient;
  expect((await stack.provider.introspect(token)).active).toBe(true);
  expect(source.refreshes).toBe(1);
});
