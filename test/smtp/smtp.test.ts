/**
 * SMTP sending against a real smtp-server on loopback: every assertion is on what the server
 * received (envelope, DSN parameters, login, parsed MIME).
 */
import { AddressInfo, createServer } from 'node:net';
import { createMailer, MailError, Importance, IMPORTANCE_LEVELS } from '../../lib';
import { startServer, smtpSettings, TestServer } from '../helpers/server';
import { tempDir, VCARD, VTODO, writeFixture } from '../helpers/fixtures';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

async function expectMailError(p: Promise<unknown>, code: string): Promise<MailError> {
  const err = await p.then(
    () => {
      throw new Error(`expected ${code}, but the send succeeded`);
    },
    (e) => e,
  );
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe(code);
  return err as MailError;
}

describe('SMTP: what the server receives', () => {
  test('sender name, reply address, recipients, French text, HTML with a text alternative, attachments, vCard and vCalendar', async () => {
    const dir = tempDir();
    const pdf = writeFixture(dir, 'facture-n°12-été.pdf', Buffer.from('%PDF-1.4 fake but exact bytes'));
    const mailer = createMailer(
      smtpSettings(server.port, { username: 'alice', password: 'secret', senderName: 'Alice Martin (Compta)', replyTo: 'compta@example.com' }),
    );
    const result = await mailer.send({
      to: ['Bob <bob@example.com>', { name: 'Zoé Dupont', address: 'zoe@example.com' }],
      cc: 'carol@example.com',
      bcc: 'audit@example.com',
      subject: 'Facture n° 12 – échéance dépassée 🙂',
      text: 'Bonjour,\nVeuillez trouver la facture ci-jointe.\nCordialement, Hélène',
      html: '<p>Bonjour,</p><p>Veuillez trouver la <b>facture</b> ci-jointe.</p>',
      attachments: [{ path: pdf }, { content: Buffer.from(VCARD, 'utf8'), filename: 'zoé.vcf' }],
      calendar: { content: VTODO, method: 'request' },
    });
    mailer.close();

    expect(server.received).toHaveLength(1);
    const got = server.received[0];
    expect(got.user).toBe('alice');
    expect(got.secure).toBe(true); // STARTTLS was offered and used, certificate verified
    expect(got.mailFrom).toBe('alice@example.com');
    expect(got.rcptTo.map((r) => r.address).sort()).toEqual(['audit@example.com', 'bob@example.com', 'carol@example.com', 'zoe@example.com']);
    const m = got.parsed;
    expect(m.from?.value).toEqual([{ name: 'Alice Martin (Compta)', address: 'alice@example.com' }]);
    expect(m.replyTo?.value).toEqual([{ name: '', address: 'compta@example.com' }]);
    expect(m.subject).toBe('Facture n° 12 – échéance dépassée 🙂');
    expect(m.headers.get('bcc')).toBeUndefined();
    expect(m.text).toContain('Cordialement, Hélène');
    expect(m.html).toContain('<b>facture</b>');
    const names = m.attachments.map((a) => a.filename);
    expect(names).toEqual(expect.arrayContaining(['facture-n°12-été.pdf', 'zoé.vcf']));
    const pdfPart = m.attachments.find((a) => a.filename === 'facture-n°12-été.pdf');
    expect(pdfPart?.content.toString()).toBe('%PDF-1.4 fake but exact bytes');
    const vcf = m.attachments.find((a) => a.filename === 'zoé.vcf');
    expect(vcf?.contentType).toBe('text/vcard');
    expect(vcf?.content.toString('utf8')).toBe(VCARD);
    // The calendar travels as a text/calendar; method=REQUEST part.
    expect(got.raw.toString()).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);
    expect(got.raw.toString()).toContain('SUMMARY:Relancer le client');
    expect(result).toMatchObject({
      protocol: 'smtp',
      accepted: expect.arrayContaining(['bob@example.com', 'zoe@example.com', 'carol@example.com', 'audit@example.com']),
      rejected: [],
      receipts: { read: 'not-requested', delivery: 'not-requested' },
      savedToSent: false,
    });
    expect(result.messageId).toBe(m.messageId);
  });

  test('an HTML-only message gets a plain-text alternative', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    await mailer.send({ to: 'bob@example.com', subject: 'HTML', html: '<h1>Titre</h1><p>Paragraphe accentué</p>' });
    mailer.close();
    const m = server.received[0].parsed;
    expect(m.html).toContain('<h1>Titre</h1>');
    expect(m.text).toMatch(/TITRE[\s\S]*Paragraphe accentué/);
  });

  const expectedHeaders: Record<Importance, Record<string, string | undefined>> = {
    'very-high': { 'x-priority': '1 (Highest)', importance: 'high', 'x-msmail-priority': 'High' },
    high: { 'x-priority': '2 (High)', importance: 'high', 'x-msmail-priority': 'High' },
    normal: { 'x-priority': undefined, importance: undefined, 'x-msmail-priority': undefined },
    low: { 'x-priority': '4 (Low)', importance: 'low', 'x-msmail-priority': 'Low' },
    'very-low': { 'x-priority': '5 (Lowest)', importance: 'low', 'x-msmail-priority': 'Low' },
  };

  test.each(IMPORTANCE_LEVELS.map((l) => [l]))('importance %s is written as the headers clients read', async (level) => {
    const mailer = createMailer(smtpSettings(server.port));
    await mailer.send({ to: 'bob@example.com', subject: level, text: 'x', importance: level });
    mailer.close();
    const raw = server.received[0].raw.toString();
    const header = (name: string) => raw.match(new RegExp(`^${name}: (.*)\r$`, 'im'))?.[1];
    for (const [name, value] of Object.entries(expectedHeaders[level])) expect(header(name)).toBe(value);
    expect(header('priority')).toBeUndefined();
  });

  test('read receipt with a reply address: Disposition-Notification-To is the envelope sender (RFC 8098), not Reply-To', async () => {
    const mailer = createMailer(smtpSettings(server.port, { replyTo: 'retours@example.com' }));
    const result = await mailer.send({ to: 'bob@example.com', subject: 'r', text: 'x', readReceipt: true });
    mailer.close();
    const got = server.received[0];
    expect(got.raw.toString()).toMatch(/^Disposition-Notification-To: <alice@example\.com>\r$/m);
    // The Return-Path a receiving server writes is MAIL FROM: the same address, so clients need not ask.
    expect(got.mailFrom).toBe('alice@example.com');
    expect(got.parsed.replyTo?.value[0].address).toBe('retours@example.com');
    expect(result.receipts.read).toBe('requested');
  });

  test('read receipt default from the settings goes to the user address', async () => {
    const mailer = createMailer(smtpSettings(server.port, {}, { defaults: { readReceipt: true } }));
    await mailer.send({ to: 'bob@example.com', subject: 'r', text: 'x' });
    mailer.close();
    expect(server.received[0].raw.toString()).toMatch(/^Disposition-Notification-To: <alice@example\.com>\r$/m);
  });

  test('delivery receipt: RET and ENVID on MAIL FROM, NOTIFY on every RCPT, no single ORCPT', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    const result = await mailer.send({ to: ['bob@example.com', 'zoe@example.com'], subject: 'dsn', text: 'x', deliveryReceipt: true });
    mailer.close();
    const got = server.received[0];
    expect(got.envelopeDsn?.ret).toBe('HDRS');
    expect(got.envelopeDsn?.envid).toMatch(/^[0-9a-f]{32}$/);
    for (const rcpt of got.rcptTo) {
      expect(rcpt.dsn?.notify).toEqual(['SUCCESS', 'FAILURE']);
      expect(rcpt.dsn?.orcpt).toBeUndefined();
    }
    expect(result.receipts.delivery).toBe('requested');
    expect(result.warnings).toEqual([]);
  });

  test('delivery receipt with chosen notify, ret and envelope id', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    await mailer.send({
      to: 'bob@example.com',
      subject: 'dsn',
      text: 'x',
      deliveryReceipt: { notify: ['failure', 'delay'], ret: 'full', envelopeId: 'INV-2026-0012' },
    });
    mailer.close();
    const got = server.received[0];
    expect(got.envelopeDsn).toMatchObject({ ret: 'FULL', envid: 'INV-2026-0012' });
    expect(got.rcptTo[0].dsn?.notify).toEqual(['FAILURE', 'DELAY']);
  });

  test('delivery receipt on a server without DSN: sent, with a warning and unsupported-by-server', async () => {
    await server.close();
    server = await startServer({ hideDSN: true });
    const mailer = createMailer(smtpSettings(server.port));
    const result = await mailer.send({ to: 'bob@example.com', subject: 'dsn', text: 'x', deliveryReceipt: true });
    mailer.close();
    expect(server.received).toHaveLength(1);
    expect(server.received[0].mailFromArgs).toBeFalsy();
    expect(result.receipts.delivery).toBe('unsupported-by-server');
    expect(result.warnings.map((w) => w.code)).toContain('DELIVERY_RECEIPT_UNSUPPORTED');
  });
});

describe('SMTP: login and TLS', () => {
  test('login is forced when the server hides AUTH (no silent unauthenticated send)', async () => {
    await server.close();
    server = await startServer({ disabledCommands: ['AUTH'] });
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_AUTH');
    mailer.close();
    expect(err.protocol).toBe('smtp');
    expect(server.received).toHaveLength(0);
  });

  test('wrong password: SMTP_AUTH with the reply code, nothing sent, password never in the message', async () => {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'not-the-Secret-42' }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_AUTH');
    mailer.close();
    expect(err.responseCode).toBe(535);
    expect(err.message).not.toContain('not-the-Secret-42');
    expect(JSON.stringify({ ...err, hint: err.hint })).not.toContain('not-the-Secret-42');
    expect(server.logins).toEqual([{ user: 'alice', ok: false }]);
    expect(server.received).toHaveLength(0);
  });

  test('a Gmail-like 535 BadCredentials reply gives the app-password hint', async () => {
    await server.close();
    server = await startServer({
      authError: {
        responseCode: 535,
        message: '5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials',
      },
    });
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_AUTH');
    mailer.close();
    expect(err.responseCode).toBe(535);
    expect(err.hint).toMatch(/app password/i);
    expect(err.hint).toMatch(/2-Step Verification/);
  });

  test.each([
    [534, '5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor', /app password/],
    [535, '5.7.139 Authentication unsuccessful, basic authentication is disabled.', /Microsoft 365.*OAuth2/],
    [535, '5.7.3 Authentication unsuccessful', /Microsoft 365.*OAuth2/],
    [535, '5.7.8 Authentication credentials invalid', /Check smtp\.username and smtp\.password/],
  ])('verify: a %d %s reply gives SMTP_AUTH with the matching hint', async (responseCode, message, hint) => {
    await server.close();
    server = await startServer({ authError: { responseCode, message } });
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
    const err = await expectMailError(mailer.verify(), 'SMTP_AUTH');
    mailer.close();
    expect(err.responseCode).toBe(responseCode);
    expect(err.hint).toMatch(hint);
    expect(err.message).not.toContain('secret');
  });

  test("security 'starttls' is refused when the server does not offer STARTTLS", async () => {
    await server.close();
    server = await startServer({ hideSTARTTLS: true, disabledCommands: ['STARTTLS'] });
    const mailer = createMailer(smtpSettings(server.port, { security: 'starttls', username: 'alice', password: 'secret' }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_TLS');
    mailer.close();
    expect(err.hint).toMatch(/STARTTLS/);
    expect(server.logins).toHaveLength(0); // the password never crossed the wire
    expect(server.received).toHaveLength(0);
  });

  test("security 'starttls' upgrades and sends when offered", async () => {
    const mailer = createMailer(smtpSettings(server.port, { security: 'starttls' }));
    await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    mailer.close();
    expect(server.received[0].secure).toBe(true);
  });

  test("security 'none' stays in clear text even when STARTTLS is offered", async () => {
    const mailer = createMailer(smtpSettings(server.port, { security: 'none' }));
    await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    mailer.close();
    expect(server.received[0].secure).toBe(false);
  });

  test("implicit TLS ('tls') against a TLS server", async () => {
    await server.close();
    server = await startServer({ secure: true });
    const mailer = createMailer(smtpSettings(server.port, { security: 'tls' }));
    await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    mailer.close();
    expect(server.received[0].secure).toBe(true);
  });

  test("'tls' against a STARTTLS port fails with SMTP_TLS and says what to change", async () => {
    const mailer = createMailer(smtpSettings(server.port, { security: 'tls', timeoutMs: 3000 }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_TLS');
    mailer.close();
    expect(err.hint).toMatch(/STARTTLS/);
  });

  test('an untrusted certificate is refused with a hint about smtp.tls.ca', async () => {
    const mailer = createMailer(smtpSettings(server.port, { tls: undefined, security: 'starttls' }));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_TLS');
    mailer.close();
    expect(err.hint).toMatch(/smtp\.tls\.ca/);
    expect(server.received).toHaveLength(0);
  });

  test('verify() connects, negotiates TLS and logs in, and sends nothing', async () => {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
    const result = await mailer.verify();
    mailer.close();
    expect(result).toMatchObject({
      protocol: 'smtp',
      server: `127.0.0.1:${server.port}`,
      authenticatedAs: 'alice',
      tls: 'starttls',
      tlsPolicy: 'starttls-when-offered',
    });
    expect(server.logins).toEqual([{ user: 'alice', ok: true }]);
    expect(server.received).toHaveLength(0);
  });

  test('a server that never greets: SMTP_TIMEOUT with a hint, after smtp.timeoutMs', async () => {
    const silent = createServer(() => undefined); // accepts, then says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const mailer = createMailer(smtpSettings(port, { timeoutMs: 300 }));
      const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_TIMEOUT');
      mailer.close();
      expect(err.hint).toContain(`127.0.0.1:${port}`);
    } finally {
      silent.close();
    }
  });

  test('connection refused: SMTP_CONNECTION with a hint naming host and port', async () => {
    const port = server.port;
    await server.close();
    const mailer = createMailer(smtpSettings(port));
    const err = await expectMailError(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }), 'SMTP_CONNECTION');
    mailer.close();
    expect(err.hint).toContain(`127.0.0.1:${port}`);
    server = await startServer();
  });
});

describe('SMTP: refusals and bad input', () => {
  test('one refused recipient: the others get the message, the result says who was refused', async () => {
    await server.close();
    server = await startServer({ rejectRcpt: ['ghost@example.com'] });
    const mailer = createMailer(smtpSettings(server.port));
    const result = await mailer.send({ to: ['bob@example.com', 'ghost@example.com'], subject: 's', text: 'x' });
    mailer.close();
    expect(server.received[0].rcptTo.map((r) => r.address)).toEqual(['bob@example.com']);
    expect(result.accepted).toEqual(['bob@example.com']);
    expect(result.rejected).toEqual(['ghost@example.com']);
    expect(result.warnings.map((w) => w.code)).toContain('RECIPIENTS_REJECTED');
  });

  test('every recipient refused: SMTP_REJECTED, permanent, with the reply code', async () => {
    await server.close();
    server = await startServer({ rejectRcpt: ['ghost@example.com'] });
    const mailer = createMailer(smtpSettings(server.port));
    const err = await expectMailError(mailer.send({ to: 'ghost@example.com', subject: 's', text: 'x' }), 'SMTP_REJECTED');
    mailer.close();
    expect(err.responseCode).toBe(550);
    expect(err.permanent).toBe(true);
    expect(server.received).toHaveLength(0);
  });

  test.each([
    ['a CR/LF in the subject', { to: 'bob@example.com', subject: 'Hi\r\nBcc: victim@example.com', text: 'x' }, 'INVALID_MESSAGE'],
    ['a LF in a display name', { to: { name: 'Bob\nBcc: victim@example.com', address: 'bob@example.com' }, subject: 's', text: 'x' }, 'INVALID_MESSAGE'],
    ['a CR/LF in an address string', { to: 'bob@example.com\r\nBcc: victim@example.com', subject: 's', text: 'x' }, 'INVALID_MESSAGE'],
    ['a CR/LF in an attachment name', { to: 'bob@example.com', subject: 's', attachments: [{ content: 'x', filename: 'a\r\nX-Evil: 1' }] }, 'INVALID_MESSAGE'],
    [
      'a CR/LF in the calendar method',
      { to: 'bob@example.com', calendar: { content: VTODO, method: 'REQUEST\r\nBcc: victim@example.com' } },
      'INVALID_MESSAGE',
    ],
    [
      'a CR/LF in a content type',
      { to: 'bob@example.com', attachments: [{ content: 'x', filename: 'a.txt', contentType: 'text/plain\r\nX-Evil: 1' }] },
      'INVALID_MESSAGE',
    ],
    [
      'a CR/LF in the name of an attached file',
      { to: 'bob@example.com', attachments: [{ path: writeFixture(tempDir(), 'a\r\nX-Evil: 1.txt', 'x') }] },
      'INVALID_MESSAGE',
    ],
    ['an invalid address', { to: 'bob@@example', subject: 's', text: 'x' }, 'INVALID_ADDRESS'],
    ['two addresses without a comma', { to: 'bob@example.com carol@example.com', subject: 's', text: 'x' }, 'INVALID_ADDRESS'],
    ['text after an address', { to: '"Bob" <bob@example.com> carol', subject: 's', text: 'x' }, 'INVALID_ADDRESS'],
    ['a missing attachment file', { to: 'bob@example.com', subject: 's', attachments: [{ path: '/nonexistent/facture.pdf' }] }, 'ATTACHMENT_NOT_FOUND'],
    ['no recipient', { subject: 's', text: 'x' }, 'NO_RECIPIENTS'],
    ['an unknown field', { to: 'bob@example.com', subject: 's', colour: 'red' }, 'UNKNOWN_OPTION'],
  ])('%s: %s and nothing reaches the server', async (_what, message, code) => {
    const mailer = createMailer(smtpSettings(server.port));
    await expectMailError(mailer.send(message as never), code);
    mailer.close();
    expect(server.received).toHaveLength(0);
    expect(server.logins).toHaveLength(0);
  });

  test('an unknown send option is refused', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    await expectMailError(mailer.send({ to: 'bob@example.com', text: 'x' }, { retries: 3 } as never), 'UNKNOWN_OPTION');
    mailer.close();
    expect(server.received).toHaveLength(0);
  });

  test('aborting during the SMTP dialogue fails with ABORTED and the message is not delivered', async () => {
    await server.close();
    let sawRcpt!: () => void;
    const rcpt = new Promise<void>((resolve) => (sawRcpt = resolve));
    let answer = () => {};
    server = await startServer({
      onRcptTo(_address, _session, cb) {
        answer = cb; // a slow server: the abort lands while it has not answered RCPT TO yet
        sawRcpt();
      },
    });
    const mailer = createMailer(smtpSettings(server.port));
    const controller = new AbortController();
    const sending = mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { signal: controller.signal });
    await rcpt;
    controller.abort();
    await expectMailError(sending, 'ABORTED');
    mailer.close();
    answer();
    expect(server.received).toHaveLength(0);
  });

  test('an aborted signal sends nothing', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    await expectMailError(mailer.send({ to: 'bob@example.com', text: 'x' }, { signal: AbortSignal.abort() }), 'ABORTED');
    mailer.close();
    expect(server.received).toHaveLength(0);
  });
});
