/**
 * oxymail/nodemailer: existing nodemailer code (nodemailer.createTransport + sendMail) sending
 * through oxymail. The SMTP variant runs against a real smtp-server and asserts on what it
 * received, parsed by mailparser; MAPI (Windows only) is checked up to the addon: the mapping and
 * the capability rule, then MAPI_UNAVAILABLE from a MAPI DLL that does not exist.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import { MailError } from '../../lib';
import { fromNodemailer, mapiTransport, oxymailTransport } from '../../lib/nodemailer';
import { tempDir, writeFixture } from '../helpers/fixtures';
import { smtpSettings, startServer, TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => server.received.splice(0));

// A 1x1 PNG, the invoice logo.
const LOGO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('nodemailer.createTransport(oxymailTransport(settings)): a nodemailer message arrives with every field', async () => {
  const dir = tempDir();
  const pdf = writeFixture(dir, 'facture-12.pdf', '%PDF-1.4 facture\n');
  const transporter = nodemailer.createTransport(oxymailTransport(smtpSettings(server.port, { username: 'alice', password: 'secret' })));
  const info = await transporter.sendMail({
    from: '"Alice Martin" <alice@example.com>',
    to: 'Bob <bob@example.com>',
    cc: [{ name: 'Zoé', address: 'zoe@example.com' }],
    replyTo: 'comptabilite@example.com',
    subject: 'Facture n° 12',
    text: 'Bonjour,\nla facture est jointe.',
    html: '<p>Bonjour,</p><img src="cid:logo@oxygene">',
    priority: 'high',
    inReplyTo: '<question-1@example.com>',
    references: ['<fil-0@example.com>', 'question-1@example.com'],
    headers: { 'X-Oxygene-Dossier': 'D-2026-0412', 'X-Tags': ['a', 'b'] },
    attachments: [{ path: pdf }, { filename: 'logo.png', content: LOGO.toString('base64'), encoding: 'base64', cid: 'logo@oxygene' }],
  });
  transporter.close();
  expect(info).toMatchObject({ accepted: ['bob@example.com', 'zoe@example.com'], rejected: [], messageId: expect.stringMatching(/^<.+@example\.com>$/) });
  expect(info.oxymail).toMatchObject({ protocol: 'smtp', warnings: [] });
  expect(server.received).toHaveLength(1);
  const { parsed, raw, user } = server.received[0];
  expect(user).toBe('alice');
  expect(parsed.messageId).toBe(info.messageId);
  expect(parsed.replyTo?.value).toEqual([{ address: 'comptabilite@example.com', name: '' }]);
  expect(parsed.inReplyTo).toBe('<question-1@example.com>');
  expect(parsed.references).toEqual(['<fil-0@example.com>', '<question-1@example.com>']);
  expect(parsed.headers.get('x-oxygene-dossier')).toBe('D-2026-0412');
  expect(raw.toString()).toMatch(/^X-Tags: a\r\nX-Tags: b\r$/m);
  expect(raw.toString()).toMatch(/^X-Priority: 2 \(High\)\r$/m);
  expect(raw.toString()).toMatch(/^Importance: high\r$/m);
  const logo = parsed.attachments.find((a) => a.cid === 'logo@oxygene');
  expect(logo).toMatchObject({ contentDisposition: 'inline', contentType: 'image/png', related: true });
  expect(logo?.content.equals(LOGO)).toBe(true);
  expect(parsed.attachments.find((a) => a.filename === 'facture-12.pdf')).toMatchObject({ contentDisposition: 'attachment' });
});

test('bulk mail with List-Unsubscribe and one-click unsubscription (RFC 8058)', async () => {
  const transporter = nodemailer.createTransport(oxymailTransport(smtpSettings(server.port)));
  await transporter.sendMail({
    to: 'client@example.com',
    subject: 'Nouveautés',
    text: 'x',
    bulk: true,
    list: { unsubscribe: [{ url: 'https://crm.example.com/u/123', comment: 'Désinscription' }, 'mailto:unsubscribe@example.com?subject=123'] },
    listUnsubscribePost: true,
  } as SendMailOptions);
  transporter.close();
  const raw = server.received[0].raw.toString();
  expect(raw).toMatch(/^List-Unsubscribe: <https:\/\/crm\.example\.com\/u\/123>,\s*<mailto:unsubscribe@example\.com\?subject=123>\r$/m);
  expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
});

test.each([
  [{ headers: { Subject: 'autre' } }, 'INVALID_MESSAGE', 'headers.Subject', /written by oxymail/],
  [{ headers: { 'X-Bad': 'a\r\nBcc: eve@example.com' } }, 'INVALID_MESSAGE', 'headers.X-Bad', /CR or LF/],
  [{ headers: { 'Bad Name': 'x' } }, 'INVALID_MESSAGE', 'headers.Bad Name', /not a header field name/],
  [{ from: 'eve@example.com' }, 'INVALID_MESSAGE', 'from', /user's address in oxymail \(alice@example\.com/],
  [{ dkim: { domainName: 'example.com' } }, 'UNKNOWN_OPTION', 'dkim', /nodemailer option oxymail does not support/],
  [{ attachment: [] }, 'UNKNOWN_OPTION', 'attachment', /did you mean attachments\?/],
  [{ listUnsubscribe: 'https://x.example.com/u' }, 'INVALID_MESSAGE', 'listUnsubscribe', /bulk: true/],
  [{ priority: 'urgent' }, 'INVALID_MESSAGE', 'priority', /'high', 'normal' or 'low'/],
  [{ priority: 'low', importance: 'high' }, 'INVALID_MESSAGE', 'priority', /give one of them/],
  [{ inReplyTo: 'not an id' }, 'INVALID_MESSAGE', 'inReplyTo', /Message-IDs/],
  [{ attachments: [{ href: 'https://example.com/a.pdf' }] }, 'INVALID_MESSAGE', 'attachments[0].href', /not supported/],
])('refused before anything is sent: %j', async (extra, code, at, why) => {
  const transporter = nodemailer.createTransport(oxymailTransport(smtpSettings(server.port)));
  const err = (await transporter.sendMail({ to: 'bob@example.com', subject: 's', text: 'x', ...extra } as SendMailOptions).catch((e) => e)) as MailError;
  transporter.close();
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe(code);
  expect(err.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: at, message: expect.stringMatching(why) })]));
  expect(server.received).toHaveLength(0);
});

test('the managed relay keeps its Reply-To: a per-message replyTo is UNSUPPORTED_OPTION there', async () => {
  const relay = { host: '127.0.0.1', port: server.port, security: 'none' as const, assignedAddress: 'noreply@suite.example' };
  const transporter = nodemailer.createTransport(oxymailTransport({ email: 'alice@example.com' }, { managed: relay }));
  const err = (await transporter.sendMail({ to: 'bob@example.com', subject: 's', text: 'x', replyTo: 'other@example.com' }).catch((e) => e)) as MailError;
  expect(err).toMatchObject({ code: 'UNSUPPORTED_OPTION', problems: [expect.objectContaining({ path: 'replyTo' })] });
  await transporter.sendMail({ to: 'bob@example.com', subject: 's', text: 'x', headers: { 'X-Dossier': '7' } });
  transporter.close();
  expect(server.received[0].parsed.replyTo?.value[0].address).toBe('alice@example.com');
  expect(server.received[0].parsed.headers.get('x-dossier')).toBe('7');
});

test('transporter.verify() is oxymail verify()', async () => {
  const transporter = nodemailer.createTransport(oxymailTransport(smtpSettings(server.port, { username: 'alice', password: 'wrong' })));
  await expect(transporter.verify()).rejects.toMatchObject({ code: 'SMTP_AUTH' });
  transporter.close();
});

describe('mapiTransport: the same nodemailer code, through the Windows mail client', () => {
  const missingDll = path.join(os.tmpdir(), 'oxymail-no-such-mapi.dll');
  beforeAll(() => {
    // Off Windows there is no addon; on Windows the addon stops at this DLL: no mail client is called.
    process.env.OXYMAIL_MAPI_DLL = missingDll;
  });
  afterAll(() => {
    delete process.env.OXYMAIL_MAPI_DLL;
  });

  test('nodemailer.createTransport(mapiTransport(...)) is a transport nodemailer accepts, named and versioned', () => {
    const t = mapiTransport({ profile: 'Outlook', interface: 'extended' });
    const transporter = nodemailer.createTransport(t);
    expect(t).toMatchObject({ name: 'oxymail-mapi', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(t.oxymail.protocol).toBe('mapi');
    transporter.close();
  });

  test('text with HTML and an inline logo pass the capability rule and reach the addon (MAPI_UNAVAILABLE here)', async () => {
    const transporter = nodemailer.createTransport(mapiTransport({ interface: 'extended' }));
    const err = (await transporter
      .sendMail({
        to: 'bob@example.com',
        subject: 's',
        text: 'x',
        html: '<p>x</p>',
        priority: 'high',
        attachments: [{ filename: 'logo.png', content: LOGO, cid: 'logo' }],
      })
      .catch((e) => e)) as MailError;
    transporter.close();
    expect(err.code).toBe('MAPI_UNAVAILABLE');
  });

  test('headers and threading are not MAPI options: one UNSUPPORTED_OPTION lists them all', async () => {
    const transporter = nodemailer.createTransport(mapiTransport());
    const err = (await transporter
      .sendMail({
        to: 'bob@example.com',
        subject: 's',
        text: 'x',
        headers: { 'X-A': '1' },
        inReplyTo: '<a@b.c>',
        references: '<a@b.c>',
        replyTo: 'r@example.com',
      })
      .catch((e) => e)) as MailError;
    transporter.close();
    expect(err).toMatchObject({ code: 'UNSUPPORTED_OPTION', protocol: 'mapi' });
    expect(err.problems?.map((p) => p.path)).toEqual(['replyTo', 'headers', 'inReplyTo', 'references']);
  });

  test("under unsupported: 'warn' they are dropped with warnings instead (the send reaches the addon)", async () => {
    const transporter = nodemailer.createTransport(mapiTransport({}, { unsupported: 'warn' }));
    const err = (await transporter.sendMail({ to: 'bob@example.com', subject: 's', text: 'x', headers: { 'X-A': '1' } }).catch((e) => e)) as MailError;
    transporter.close();
    expect(err.code).toBe('MAPI_UNAVAILABLE');
  });
});

describe('fromNodemailer: the mapping itself', () => {
  test("nodemailer's own fields and oxymail's pass through; its internal ones and an empty headers object are left out", () => {
    const signal = new AbortController().signal;
    const { message, signal: s } = fromNodemailer(
      {
        to: 'a@example.com',
        subject: 's',
        text: Buffer.from('Été'),
        headers: {},
        disableFileAccess: false,
        signal,
        readReceipt: true,
        icalEvent: { method: 'REQUEST', content: 'BEGIN:VCALENDAR' },
        dsn: { id: 'env-1', return: 'headers', notify: 'success,failure' },
      },
      'alice@example.com',
    );
    expect(message).toEqual({
      to: 'a@example.com',
      subject: 's',
      text: 'Été',
      readReceipt: true,
      calendar: { method: 'REQUEST', content: 'BEGIN:VCALENDAR' },
      deliveryReceipt: { notify: ['success', 'failure'], ret: 'headers', envelopeId: 'env-1' },
    });
    expect(s).toBe(signal);
  });

  test("headers given as nodemailer's array of { key, value } become one list per name", () => {
    const { message } = fromNodemailer({
      to: 'a@example.com',
      headers: [
        { key: 'X-A', value: '1' },
        { key: 'X-A', value: '2' },
      ],
    });
    expect(message.headers).toEqual({ 'X-A': ['1', '2'] });
  });

  test('a from with the user address (any case, with a name) is accepted; without settings email any from is', () => {
    expect(() => fromNodemailer({ from: 'Alice <ALICE@example.com>' }, 'alice@example.com')).not.toThrow();
    expect(() => fromNodemailer({ from: { name: 'x', address: 'x@example.com' } })).not.toThrow();
  });
});
