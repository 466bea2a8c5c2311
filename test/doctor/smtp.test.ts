/**
 * The doctor's SMTP checks with the real probe against a real smtp-server on loopback (DNS, TCP,
 * TLS, the EHLO extensions, the login), and the provider advice with a fake network.
 */
import { AddressInfo } from 'node:net';
import { DoctorReport, formatDoctorReport, Probe, runDoctor, systemProbe } from '../../lib/doctor';
import { SMTPServer } from 'smtp-server';
import { MailError } from '../../lib/errors';
import { smtpSettings, startServer, testCert, TestServer } from '../helpers/server';
import { fakeProbe } from './fixtures';
import { freePort } from '../helpers/fixtures';

/** The real probe, on a Linux machine in any session: only the SMTP part matters here. */
const realProbe = (): Probe => ({ ...systemProbe(), platform: 'linux', env: {} });

function line(report: DoctorReport, id: string) {
  const found = report.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id} in ${JSON.stringify(report.lines.map((l) => l.id))}`);
  return found;
}

function ids(report: DoctorReport): string[] {
  return report.lines.filter((l) => l.id.startsWith('smtp.')).map((l) => l.id);
}

/** No secret in the JSON report nor in the printed one. */
function expectNoSecret(report: DoctorReport, secret: string): void {
  expect(JSON.stringify(report)).not.toContain(secret);
  expect(formatDoctorReport(report, { color: false })).not.toContain(secret);
}

describe('SMTP against smtp-server on loopback', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a good server: resolves, connects, STARTTLS, AUTH and DSN offered, login ok; nothing is sent', async () => {
    server = await startServer();
    const report = await runDoctor({ settings: smtpSettings(server.port, { username: 'alice', password: 'secret' }), probe: realProbe() });
    expect(ids(report)).toEqual(['smtp.dns', 'smtp.tcp', 'smtp.tls-port', 'smtp.handshake', 'smtp.auth-offered', 'smtp.dsn', 'smtp.login']);
    expect(report.lines.filter((l) => l.id.startsWith('smtp.')).map((l) => l.verdict)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(line(report, 'smtp.dns')).toMatchObject({ title: '127.0.0.1 resolves', detail: '127.0.0.1' });
    expect(line(report, 'smtp.tcp').title).toBe(`127.0.0.1:${server.port} accepts connections`);
    expect(line(report, 'smtp.tls-port').title).toBe(`TLS mode matches the port (port ${server.port}, security 'auto': STARTTLS when offered)`);
    expect(line(report, 'smtp.handshake').title).toMatch(/^SMTP handshake: STARTTLS, TLSv1\.[23]$/);
    expect(line(report, 'smtp.auth-offered').title).toBe('AUTH offered: LOGIN PLAIN');
    expect(line(report, 'smtp.dsn').title).toBe('DSN offered: delivery receipts work');
    expect(line(report, 'smtp.login')).toMatchObject({ title: 'Logged in as alice', detail: expect.stringMatching(/^Over STARTTLS, TLSv1\.[23]\.$/) });
    expect(server.logins).toEqual([{ user: 'alice', ok: true }]);
    expect(server.received).toEqual([]);
    expect(report.failed).toBe(false);
    expectNoSecret(report, 'secret');
  });

  test('a refused login: the server reply, the hint, and never the password', async () => {
    server = await startServer();
    const password = 'Wr0ng-P4ssw0rd!';
    const report = await runDoctor({ settings: smtpSettings(server.port, { username: 'alice', password }), probe: realProbe() });
    expect(line(report, 'smtp.login')).toMatchObject({
      verdict: 'fail',
      title: 'Login failed (SMTP_AUTH)',
      detail: expect.stringMatching(/535.*Check smtp\.username and smtp\.password/),
    });
    expect(report.failed).toBe(true);
    expect(report.recommendation.words).toMatch(/Fix the SMTP failures above first\.$/);
    expectNoSecret(report, password);
  });

  test('no AUTH and no DSN advertised: login impossible with credentials, no delivery receipts', async () => {
    server = await startServer({ disabledCommands: ['AUTH'], hideDSN: true });
    const settings = smtpSettings(server.port, { username: 'alice', password: 'secret' }, { defaults: { deliveryReceipt: true } });
    const report = await runDoctor({ settings, probe: realProbe() });
    expect(line(report, 'smtp.auth-offered')).toMatchObject({
      verdict: 'fail',
      title: 'AUTH not offered',
      detail: expect.stringMatching(/sends will fail with SMTP_AUTH/),
    });
    expect(line(report, 'smtp.dsn')).toMatchObject({ verdict: 'warn', title: 'DSN not offered: no delivery receipts' });
    expect(line(report, 'smtp.login')).toMatchObject({ verdict: 'fail', title: 'Login failed (SMTP_AUTH)' });
    expect(server.logins).toEqual([]);
  });

  test('a server without STARTTLS: the handshake and the login both say "not encrypted", never the configured mode', async () => {
    server = await startServer({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    const report = await runDoctor({ settings: smtpSettings(server.port, { username: 'alice', password: 'secret' }), probe: realProbe() });
    expect(line(report, 'smtp.handshake').title).toBe('SMTP handshake: no TLS');
    expect(line(report, 'smtp.login')).toMatchObject({ verdict: 'ok', detail: 'The login went over an unencrypted connection.' });
    const text = formatDoctorReport(report, { color: false });
    expect(text).not.toMatch(/starttls-when-offered|TLS: starttls/i);
  });

  test('a password that cannot be read here: a FAIL line, the login is not tried, the other SMTP checks run', async () => {
    server = await startServer();
    const error = new MailError('SECRET_UNREADABLE', 'settings: users.alice.smtp.password is encrypted with Windows DPAPI and cannot be read on linux', {
      hint: 'Set it again.',
    });
    const report = await runDoctor({
      settings: smtpSettings(server.port, { username: 'alice', password: '********' }),
      unreadableSecrets: [{ path: 'smtp.password', error }],
      probe: realProbe(),
    });
    expect(line(report, 'settings.secret')).toMatchObject({
      verdict: 'fail',
      title: 'smtp.password cannot be read on this machine (SECRET_UNREADABLE)',
      detail: expect.stringMatching(/DPAPI.*Set it again\.$/),
    });
    expect(line(report, 'smtp.handshake').verdict).toBe('ok');
    expect(line(report, 'smtp.login')).toMatchObject({
      verdict: 'info',
      title: 'Login not tried',
      detail: 'smtp.password cannot be read on this machine (see above).',
    });
    expect(server.logins).toEqual([]);
    expect(report.failed).toBe(true);
  });

  test('an unreadable store: one failing settings line, and the machine is still checked', async () => {
    const error = new MailError('INVALID_SETTINGS', 'settings: users.json holds invalid settings', {
      problems: [{ path: 'version', message: 'must be an integer from 0 to 1' }],
    });
    const report = await runDoctor({ settingsError: error, probe: realProbe() });
    expect(line(report, 'settings')).toMatchObject({ verdict: 'fail', detail: 'version: must be an integer from 0 to 1' });
    expect(line(report, 'mapi.platform').verdict).toBe('info');
    expect(report.recommendation.choice).toBe('smtp');
  });

  test('without credentials: AUTH offered is a fact, no login is tried, DSN missing is only a fact', async () => {
    server = await startServer({ hideDSN: true });
    const report = await runDoctor({ settings: smtpSettings(server.port), probe: realProbe() });
    expect(line(report, 'smtp.auth-offered')).toMatchObject({ verdict: 'info', title: 'AUTH offered: LOGIN PLAIN, no credentials set' });
    expect(line(report, 'smtp.dsn').verdict).toBe('info');
    expect(ids(report)).not.toContain('smtp.login');
    expect(server.logins).toEqual([]);
  });

  test("implicit TLS ('tls') on a STARTTLS port: the port warning, and the handshake's TLS failure with its hint", async () => {
    server = await startServer();
    const report = await runDoctor({ settings: smtpSettings(server.port, { security: 'tls', timeoutMs: 5000 }), probe: realProbe() });
    expect(line(report, 'smtp.tls-port')).toMatchObject({ verdict: 'warn', title: `Implicit TLS on port ${server.port}` });
    expect(line(report, 'smtp.handshake')).toMatchObject({
      verdict: 'fail',
      title: 'SMTP handshake failed (SMTP_TLS)',
      detail: expect.stringMatching(/speaks plain SMTP with STARTTLS, not implicit TLS/),
    });
  });

  test("implicit TLS from the first byte: the handshake says so (and 'tls' off port 465 is still flagged)", async () => {
    // A server of its own: the doctor's TCP check closes its socket before any TLS, which
    // smtp-server reports as an 'error' event that the shared helper does not listen to.
    const { key, cert } = testCert();
    const tlsServer = new SMTPServer({ secure: true, key, cert, logger: false, onAuth: (auth, _s, cb) => cb(null, { user: auth.username }) });
    tlsServer.on('error', () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tlsServer.server.address() as AddressInfo).port;
      const report = await runDoctor({ settings: smtpSettings(port, { security: 'tls', username: 'alice', password: 'secret' }), probe: realProbe() });
      expect(line(report, 'smtp.tls-port').verdict).toBe('warn');
      expect(line(report, 'smtp.handshake')).toMatchObject({ verdict: 'ok', title: expect.stringMatching(/^SMTP handshake: implicit TLS, TLSv1\.[23]$/) });
      expect(line(report, 'smtp.login')).toMatchObject({ verdict: 'ok', title: 'Logged in as alice' });
    } finally {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });

  test('DNS failure: a name under .invalid never resolves; nothing further is tried', async () => {
    const report = await runDoctor({ settings: smtpSettings(587, { host: 'smtp.doctor-test.invalid' }), probe: realProbe() });
    expect(ids(report)).toEqual(['smtp.dns']);
    expect(line(report, 'smtp.dns')).toMatchObject({
      verdict: 'fail',
      title: expect.stringMatching(/^smtp\.doctor-test\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)\)$/),
    });
    expect(report.recommendation.words).toMatch(/Fix the SMTP failures above first\.$/);
  });

  test('TCP refused: nothing listens on the port', async () => {
    const port = await freePort();
    const report = await runDoctor({ settings: smtpSettings(port), probe: realProbe() });
    expect(ids(report)).toEqual(['smtp.dns', 'smtp.tcp']);
    expect(line(report, 'smtp.tcp')).toMatchObject({
      verdict: 'fail',
      title: `Cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`,
      detail: expect.stringMatching(/^Nothing listens on port \d+ there: check smtp\.port/),
    });
  });
});

describe('provider advice (fake network: resolves, then refused)', () => {
  const network = fakeProbe({
    platform: 'linux',
    env: {},
    overrides: {
      lookup: async () => ({ ok: true, addresses: ['192.0.2.10'] }),
      connect: async () => ({ ok: false, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }),
    },
  });
  const user = (host: string, smtp: object) => ({
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp' as const,
    smtp: { host, port: 587, username: 'alice@example.com', ...smtp },
  });

  test.each([
    ['account password', { password: 'G00gle-account-pw' }, 'warn', 'Gmail needs an app password'],
    ['app password with its spaces', { password: 'abcd efgh ijkl mnop' }, 'ok', 'Gmail: the password has the shape of an app password (16 letters)'],
    ['OAuth2', { accessToken: 'ya29.token-value' }, 'ok', 'Gmail with OAuth2'],
  ])('Gmail, %s', async (_name, smtp, verdict, title) => {
    const report = await runDoctor({ settings: user('smtp.gmail.com', smtp), probe: network });
    expect(line(report, 'smtp.gmail')).toMatchObject({ verdict, title });
    if (verdict === 'warn') expect(line(report, 'smtp.gmail').detail).toMatch(/2-Step Verification.*App passwords.*16 letters/);
    expectNoSecret(report, 'G00gle-account-pw');
    expectNoSecret(report, 'abcd efgh ijkl mnop');
    expectNoSecret(report, 'ya29.token-value');
  });

  test('Gmail with a password that cannot be read here: no guess at its shape', async () => {
    const error = new MailError('SECRET_UNREADABLE', 'settings: users.a.smtp.password is encrypted with Windows DPAPI and cannot be read on linux');
    const report = await runDoctor({
      settings: user('smtp.gmail.com', { password: '********' }),
      unreadableSecrets: [{ path: 'smtp.password', error }],
      probe: network,
    });
    expect(line(report, 'smtp.gmail')).toMatchObject({ verdict: 'info', title: 'Gmail: the password cannot be checked here' });
    expect(line(report, 'settings.secret').verdict).toBe('fail');
  });

  test('Microsoft 365 with a password: OAuth2 advice; with a token: ok', async () => {
    const basic = await runDoctor({ settings: user('smtp.office365.com', { password: 'Hunter2!hunter2' }), probe: network });
    expect(line(basic, 'smtp.microsoft365')).toMatchObject({
      verdict: 'warn',
      title: 'Microsoft 365: password login (basic auth) for SMTP is being switched off',
      detail: expect.stringMatching(/5\.7\.139.*OAuth2: smtp\.oauth2\.provider=microsoft and smtp\.oauth2\.clientId .*then oxymail auth login USER/),
    });
    expectNoSecret(basic, 'Hunter2!hunter2');
    const oauth = await runDoctor({ settings: user('smtp.office365.com', { accessToken: 'eyJ0.token' }), probe: network });
    expect(line(oauth, 'smtp.microsoft365')).toMatchObject({ verdict: 'ok', title: 'Microsoft 365 with OAuth2' });
  });

  test('another provider gets no provider line; port 25 gets the submission-port note', async () => {
    const reached = fakeProbe({
      platform: 'linux',
      env: {},
      overrides: {
        lookup: async () => ({ ok: true, addresses: ['192.0.2.25'] }),
        connect: async () => ({ ok: true, address: '192.0.2.25:25' }),
        smtpHandshake: async () => ({ ok: false, code: 'SMTP_CONNECTION', message: 'verify (SMTP mail.example.com:25): connection failed: socket closed' }),
      },
    });
    const report = await runDoctor({
      settings: { email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host: 'mail.example.com', port: 25, username: 'a', password: 'x1' } },
      probe: reached,
    });
    expect(report.lines.map((l) => l.id).filter((id) => id === 'smtp.gmail' || id === 'smtp.microsoft365')).toEqual([]);
    expect(line(report, 'smtp.tls-port')).toMatchObject({
      verdict: 'ok',
      title: "TLS mode matches the port (port 25, security 'auto': STARTTLS, required)",
      detail: expect.stringMatching(/Port 25 is often blocked .* 587 is the submission port\./),
    });
    expect(line(report, 'smtp.handshake')).toMatchObject({ verdict: 'fail', title: 'SMTP handshake failed (SMTP_CONNECTION)' });
    expect(ids(report)).toEqual(['smtp.dns', 'smtp.tcp', 'smtp.tls-port', 'smtp.handshake']);
  });
});
