/**
 * The bad-input table: each class of input the adversarial run found (control and invisible
 * characters in both address forms and in names, RFC 5321 lengths, IDN and non-ASCII local parts,
 * prototype-named keys, getters that throw, content types, sizes, bounds of settings and options)
 * against a real smtp-server that counts its connections. A refused input must be refused with its
 * code before any connection; an accepted one must arrive intact (headers within 998 characters).
 * The counts are printed; a misbehaving row fails the suite.
 */
import { simpleParser } from 'mailparser';
import { createMailer, MailError, MailMessage, SendResult, validateSettings } from '../../lib';
import { startServer, smtpSettings, TestServer } from '../helpers/server';

interface Row {
  name: string;
  message?: unknown;
  /** Settings changes (merged into the SMTP test settings). */
  smtp?: Record<string, unknown>;
  top?: Record<string, unknown>;
  sendOptions?: Record<string, unknown>;
  /** smtp-server options (hideSMTPUTF8...). */
  server?: Record<string, unknown>;
  /** The expected code, or 'delivered'. */
  expect: string;
  /** For 'delivered': what the server must have got. */
  check?: (got: TestServer['received'][number], result: SendResult) => void | Promise<void>;
}

const base = { subject: 'Relance', text: 'Bonjour' };
const to = (addr: unknown): MailMessage => ({ ...base, to: addr as string });

const CONTROLS: [string, string][] = [
  ['NUL', '\u0000'],
  ['BEL', '\u0007'],
  ['BS', '\b'],
  ['TAB', '\t'],
  ['VT', '\u000b'],
  ['FF', '\f'],
  ['ESC', '\u001b'],
  ['DEL', '\u007f'],
  ['NEL U+0085', '\u0085'],
  ['C1 U+009B', '\u009b'],
  ['LINE SEPARATOR U+2028', '\u2028'],
  ['PARAGRAPH SEPARATOR U+2029', '\u2029'],
  ['ZERO WIDTH SPACE U+200B', '\u200b'],
  ['ZERO WIDTH JOINER U+200D', '\u200d'],
  ['BOM U+FEFF', '\ufeff'],
  ['RLO U+202E', '\u202e'],
  ['LRI U+2066', '\u2066'],
  ['ALM U+061C', '\u061c'],
  ['SOFT HYPHEN U+00AD', '\u00ad'],
];

const ROWS: Row[] = [
  ...CONTROLS.flatMap(([what, ch]): Row[] => [
    { name: `${what} inside a string address`, message: to(`billing@partner.example${ch}.attacker.example`), expect: 'INVALID_ADDRESS' },
    { name: `${what} at the end of a string address`, message: to(`bob@example.com${ch}`), expect: 'INVALID_ADDRESS' },
    { name: `${what} in { address }`, message: to({ address: `bo${ch}b@example.com` }), expect: 'INVALID_ADDRESS' },
    { name: `${what} leading { address } (trim must not hide it)`, message: to({ address: `${ch}bob@example.com` }), expect: 'INVALID_ADDRESS' },
    { name: `${what} in a display name { name }`, message: to({ name: `Bob${ch}Admin`, address: 'bob@example.com' }), expect: 'INVALID_ADDRESS' },
    { name: `${what} in a display name string`, message: to(`"Bob${ch}Admin" <bob@example.com>`), expect: 'INVALID_ADDRESS' },
  ]),
  { name: 'CR/LF in a string address', message: to('bob@example.com\r\nBcc: spy@attacker.example'), expect: 'INVALID_MESSAGE' },
  { name: 'CR/LF in the subject', message: { ...to('bob@example.com'), subject: 'a\r\nBcc: spy@attacker.example' }, expect: 'INVALID_MESSAGE' },
  { name: 'ESC in the subject', message: { ...to('bob@example.com'), subject: 'a\u001b[2Jb' }, expect: 'INVALID_MESSAGE' },
  { name: 'a 65-octet local part', message: to(`${'a'.repeat(65)}@example.com`), expect: 'INVALID_ADDRESS' },
  { name: 'a 64-octet local part', message: to(`${'a'.repeat(64)}@example.com`), expect: 'delivered' },
  { name: 'a 64-character domain label', message: to(`bob@${'d'.repeat(64)}.example`), expect: 'INVALID_ADDRESS' },
  {
    name: 'a 318-character address',
    message: to(`${'a'.repeat(60)}@${Array.from({ length: 5 }, () => 'b'.repeat(50)).join('.')}.example`),
    expect: 'INVALID_ADDRESS',
  },
  {
    name: 'an IDN domain goes out in punycode',
    message: to('Zoé <zoe@exämple.fr>'),
    expect: 'delivered',
    check: (got, r) => {
      // RCPT TO carried the punycode form (smtp-server shows it decoded back to Unicode).
      expect(r.accepted).toEqual(['zoe@xn--exmple-cua.fr']);
      expect(got.rcptTo.map((x) => x.address)).toEqual(['zoe@exämple.fr']);
      expect(got.raw.toString()).toMatch(/^To: =\?UTF-8\?Q\?Zo=C3=A9\?= <zoe@xn--exmple-cua\.fr>\r$/m);
    },
  },
  {
    name: 'a non-ASCII local part to a server without SMTPUTF8',
    message: to('zoé@example.com'),
    server: { hideSMTPUTF8: true },
    expect: 'SMTP_UTF8_UNSUPPORTED',
  },
  {
    name: 'a non-ASCII local part to a server with SMTPUTF8',
    message: to('zoé@example.com'),
    expect: 'delivered',
    check: (got) => {
      expect(got.rcptTo.map((x) => x.address)).toEqual(['zoé@example.com']);
      expect(got.mailFromArgs).toMatchObject({ SMTPUTF8: true });
    },
  },
  { name: 'a message key named toString', message: { ...to('bob@example.com'), toString: () => 'x' }, expect: 'UNKNOWN_OPTION' },
  { name: 'a message key named constructor', message: { ...to('bob@example.com'), constructor: Object }, expect: 'UNKNOWN_OPTION' },
  {
    name: 'a message key __proto__ (from JSON)',
    message: JSON.parse('{"to":"bob@example.com","text":"x","__proto__":{"bcc":"spy@attacker.example"}}'),
    expect: 'UNKNOWN_OPTION',
  },
  {
    name: 'a throwing getter on the message',
    message: Object.defineProperty({ ...base }, 'to', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    }),
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'a throwing getter on an attachment',
    message: {
      ...to('bob@example.com'),
      attachments: [
        Object.defineProperty({ filename: 'a.txt' }, 'content', {
          enumerable: true,
          get() {
            throw new Error('boom');
          },
        }),
      ],
    },
    expect: 'INVALID_MESSAGE',
  },
  { name: 'filename: 7', message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 7 }] }, expect: 'INVALID_MESSAGE' },
  {
    name: 'a filename with ESC',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 'a\u001b]0;x\u0007.txt' }] },
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'a 300-character filename',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: `${'f'.repeat(296)}.txt` }] },
    expect: 'MESSAGE_TOO_LARGE',
  },
  {
    name: 'contentType with NUL and a header',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 'a.txt', contentType: 'text/plain\u0000X-Evil: 1' }] },
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'contentType multipart/mixed with a boundary',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 'a.txt', contentType: 'multipart/mixed; boundary=zz' }] },
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'contentType raw non-ASCII',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 'a.txt', contentType: 'tëxt/plain' }] },
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'contentType with a boundary parameter',
    message: { ...to('bob@example.com'), attachments: [{ content: 'x', filename: 'a.txt', contentType: 'text/plain; boundary=zz' }] },
    expect: 'INVALID_MESSAGE',
  },
  {
    name: 'contentType with a parameter',
    message: {
      ...to('bob@example.com'),
      attachments: [{ content: Buffer.from('caf\xe9', 'latin1'), filename: 'a.txt', contentType: 'text/plain; charset=iso-8859-1' }],
    },
    expect: 'delivered',
    check: (got) => expect(got.parsed.attachments[0].content.toString('latin1')).toBe('caf\xe9'),
  },
  { name: 'deliveryReceipt: []', message: { ...to('bob@example.com'), deliveryReceipt: [] }, expect: 'INVALID_MESSAGE' },
  { name: 'a 3000-character subject', message: { ...to('bob@example.com'), subject: 'x'.repeat(3000) }, expect: 'MESSAGE_TOO_LARGE' },
  { name: 'a 300-character display name', message: to({ name: 'N'.repeat(300), address: 'bob@example.com' }), expect: 'INVALID_ADDRESS' },
  { name: '1001 recipients', message: { ...base, to: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) }, expect: 'MESSAGE_TOO_LARGE' },
  {
    name: 'a 1500-character subject in one word: folded within 998',
    message: { ...to('bob@example.com'), subject: `Réf-${'A'.repeat(1500)}` },
    expect: 'delivered',
    check: (got) => expect(got.parsed.subject).toBe(`Réf-${'A'.repeat(1500)}`),
  },
  {
    name: 'a 250-character display name in one word and a 250-character file name',
    message: { ...to({ name: 'N'.repeat(250), address: 'bob@example.com' }), attachments: [{ content: 'x', filename: `${'f'.repeat(246)}.txt` }] },
    expect: 'delivered',
    check: (got) => {
      expect(got.parsed.to && !Array.isArray(got.parsed.to) ? got.parsed.to.value[0].name : '').toBe('N'.repeat(250));
      expect(got.parsed.attachments[0].filename).toBe(`${'f'.repeat(246)}.txt`);
    },
  },
  {
    name: 'a vCard given as a string says charset=utf-8',
    message: { ...to('bob@example.com'), attachments: [{ content: 'BEGIN:VCARD\r\nFN:Zoé\r\nEND:VCARD\r\n', filename: 'zoe.vcf' }] },
    expect: 'delivered',
    check: (got) => {
      const part = got.parsed.attachments[0];
      expect(part.contentType).toBe('text/vcard');
      expect(got.raw.toString()).toMatch(/Content-Type: text\/vcard; charset=utf-8/);
      expect(part.content.toString('utf8')).toBe('BEGIN:VCARD\r\nFN:Zoé\r\nEND:VCARD\r\n');
    },
  },
  { name: 'deadlineMs: 3e9 (send option)', message: to('bob@example.com'), sendOptions: { deadlineMs: 3e9 }, expect: 'INVALID_OPTION' },
  { name: 'smtp.timeoutMs: 3e9', message: to('bob@example.com'), smtp: { timeoutMs: 3e9 }, expect: 'INVALID_SETTINGS' },
  { name: 'smtp.deadlineMs: 50', message: to('bob@example.com'), smtp: { deadlineMs: 50 }, expect: 'INVALID_SETTINGS' },
  { name: 'smtp.name with a space', message: to('bob@example.com'), smtp: { name: 'my pc' }, expect: 'INVALID_SETTINGS' },
  {
    name: 'a label with ESC sequences',
    message: to('bob@example.com'),
    top: { label: '\u001b[2J\u001b[31mADMIN\u001b]0;pwned\u0007' },
    expect: 'INVALID_SETTINGS',
  },
  { name: 'a label with U+202E', message: to('bob@example.com'), top: { label: 'Alice \u202eNIMDA' }, expect: 'INVALID_SETTINGS' },
  { name: 'a settings key named toString', message: to('bob@example.com'), top: { toString: 'x' }, expect: 'INVALID_SETTINGS' },
  { name: 'an smtp key named constructor', message: to('bob@example.com'), smtp: { constructor: 'x' }, expect: 'INVALID_SETTINGS' },
  { name: 'settings nested 100 deep', message: to('bob@example.com'), top: { label: nest(100) }, expect: 'INVALID_SETTINGS' },
];

function nest(n: number): unknown {
  let o: unknown = 'x';
  for (let i = 0; i < n; i++) o = { a: o };
  return o;
}

const counts = { tried: 0, rejectedWithCode: 0, deliveredIntact: 0, misbehaved: 0 };
const misbehaved: string[] = [];

afterAll(() => {
  console.log(
    `bad-input table: tried ${counts.tried}, rejected with code ${counts.rejectedWithCode}, delivered intact ${counts.deliveredIntact}, misbehaved ${counts.misbehaved}` +
      (misbehaved.length ? `\n  ${misbehaved.join('\n  ')}` : ''),
  );
});

describe('bad-input table', () => {
  test.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    counts.tried++;
    let connections = 0;
    const server = await startServer({
      ...row.server,
      onConnect(_session, cb) {
        connections++;
        cb();
      },
    });
    let outcome: MailError | SendResult;
    try {
      const mailer = createMailer(smtpSettings(server.port, row.smtp ?? {}, row.top ?? {}));
      try {
        outcome = await mailer.send(row.message as MailMessage, row.sendOptions);
      } finally {
        mailer.close();
      }
    } catch (err) {
      outcome = err as MailError;
    }
    await server.close();
    try {
      if (row.expect === 'delivered') {
        expect(outcome).not.toBeInstanceOf(Error);
        expect(server.received).toHaveLength(1);
        const got = server.received[0];
        // Every header line within 998 characters (RFC 5322), and the message parses.
        const head = got.raw.toString('utf8').split('\r\n\r\n')[0];
        expect(Math.max(...head.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
        expect((await simpleParser(got.raw)).messageId).toBe((outcome as SendResult).messageId);
        await row.check?.(got, outcome as SendResult);
        counts.deliveredIntact++;
      } else {
        expect(outcome).toBeInstanceOf(MailError);
        expect({ code: (outcome as MailError).code, message: (outcome as MailError).message }).toMatchObject({ code: row.expect });
        expect(server.received).toHaveLength(0);
        // Refused before any connection, except what only the server can tell (SMTPUTF8).
        if (row.expect !== 'SMTP_UTF8_UNSUPPORTED') expect(connections).toBe(0);
        counts.rejectedWithCode++;
      }
    } catch (assertion) {
      counts.misbehaved++;
      misbehaved.push(`${row.name}: ${outcome instanceof Error ? `${(outcome as MailError).code}: ${outcome.message}` : 'delivered'}`);
      throw assertion;
    }
  });

  test('no row misbehaved', () => {
    expect(counts.tried).toBe(ROWS.length);
    expect(misbehaved).toEqual([]);
  });
});

test('validateSettings refuses what createMailer refuses (the store and the CLI use it)', () => {
  expect(() => validateSettings({ label: 'a\u0000b' })).toThrow(MailError);
  expect(() => validateSettings(JSON.parse('{"__proto__": {"customize": true}}'))).toThrow(/reserved/);
});
