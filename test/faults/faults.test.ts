/**
 * The fault-injection table: a scripted raw TCP server leads the SMTP client to one fault per row
 * (refused connection, early close, 421, 4xx/5xx at each command, drops in and after DATA,
 * silence, a reply one byte at a time, STARTTLS failures, a reply echoing the AUTH line). Each row
 * says what must come out: the error code (and its facts), or a delivery the server got intact.
 * The counts are printed; a row that misbehaves (another code, a raw error, a leaked secret, a
 * delivery where none was due) fails the suite.
 */
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { createMailer, ERROR_CODES, MailError, MailMessage, SendResult } from '../../lib';
import { FaultServer, Script, startFaultServer } from '../helpers/fault-server';
import { smtpSettings } from '../helpers/server';
import { freePort } from '../helpers/fixtures';

const PASSWORD = 'S3cret-p4ss!';
const USER = 'alice@example.com';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** Every form of the credentials a server could echo back. */
const SECRETS = [PASSWORD, b64(PASSWORD), b64(`\0${USER}\0${PASSWORD}`)];

interface Row {
  name: string;
  script?: Script;
  /** No server at all: a port nobody listens on. */
  refuse?: true;
  smtp?: Record<string, unknown>;
  message?: Partial<MailMessage>;
  /** The send's deadline (default 700 ms). */
  deadlineMs?: number;
  /** The expected error code, or 'delivered'. */
  expect: string;
  /** Extra facts on the error or the result. */
  check?: (outcome: MailError | SendResult) => void;
}

const TWO = ['bob@example.com', 'carol@example.com'];
const withAuth = { username: USER, password: PASSWORD };

const ROWS: Row[] = [
  { name: 'connection refused', refuse: true, expect: 'SMTP_CONNECTION' },
  { name: 'closed right after the greeting', script: { greeting: { reply: '220 fault.example ESMTP', then: 'close' } }, expect: 'SMTP_CONNECTION' },
  { name: 'closed before the greeting', script: { greeting: 'close' }, expect: 'SMTP_CONNECTION' },
  {
    name: '421 greeting',
    script: { greeting: { reply: '421 4.3.2 Service not available', then: 'close' } },
    expect: 'SMTP_CONNECTION',
    check: (e) => expect(e).toMatchObject({ responseCode: 421, permanent: false }),
  },
  {
    name: '554 greeting',
    script: { greeting: { reply: '554 5.7.1 No SMTP service for you', then: 'close' } },
    expect: 'SMTP_CONNECTION',
    check: (e) => expect(e).toMatchObject({ responseCode: 554, permanent: true }),
  },
  { name: 'EHLO refused, HELO works', script: { replies: { EHLO: '502 5.5.2 EHLO not implemented' } }, expect: 'delivered' },
  {
    name: 'EHLO and HELO refused',
    script: { replies: { EHLO: '550 5.7.1 go away', HELO: '550 5.7.1 go away' } },
    expect: 'SMTP_PROTOCOL',
    check: (e) => expect(e).toMatchObject({ responseCode: 550 }),
  },
  { name: '421 on EHLO', script: { replies: { EHLO: { reply: '421 4.3.2 closing', then: 'close' } } }, expect: 'SMTP_CONNECTION' },
  {
    name: 'AUTH 535',
    script: { authReply: () => '535 5.7.8 Authentication credentials invalid' },
    smtp: withAuth,
    expect: 'SMTP_AUTH',
    check: (e) => expect(e).toMatchObject({ responseCode: 535, permanent: true }),
  },
  {
    name: 'AUTH 454 (temporary)',
    script: { authReply: () => '454 4.7.0 Temporary authentication failure' },
    smtp: withAuth,
    expect: 'SMTP_AUTH',
    check: (e) => {
      expect(e).toMatchObject({ responseCode: 454, permanent: false });
      expect((e as MailError).hint).toMatch(/temporar/i);
    },
  },
  {
    name: 'AUTH 530 must issue STARTTLS first (Postfix)',
    script: { replies: { AUTH: '530 5.7.0 Must issue a STARTTLS command first' } },
    smtp: withAuth,
    expect: 'SMTP_STARTTLS_REQUIRED',
    check: (e) => expect((e as MailError).hint).toMatch(/STARTTLS/),
  },
  {
    name: 'MAIL FROM 530 must issue STARTTLS first',
    script: { replies: { MAIL: '530 5.7.0 Must issue a STARTTLS command first' } },
    expect: 'SMTP_STARTTLS_REQUIRED',
  },
  {
    name: 'MAIL FROM 451',
    script: { replies: { MAIL: '451 4.3.0 try later' } },
    expect: 'SMTP_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: false }),
  },
  {
    name: 'MAIL FROM 550',
    script: { replies: { MAIL: '550 5.7.1 sender refused' } },
    expect: 'SMTP_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: true }),
  },
  { name: 'MAIL FROM 552 (too large)', script: { replies: { MAIL: '552 5.3.4 Message size exceeds fixed limit' } }, expect: 'SMTP_MESSAGE_TOO_LARGE' },
  {
    name: 'RCPT 550 on the only recipient',
    script: { replies: { RCPT: '550 5.1.1 No such user' } },
    expect: 'SMTP_REJECTED',
    check: (e) => expect((e as MailError).rejectedDetails).toEqual([{ address: 'bob@example.com', responseCode: 550, permanent: true }]),
  },
  {
    name: 'RCPT 450 on the only recipient',
    script: { replies: { RCPT: '450 4.2.0 Mailbox busy' } },
    expect: 'SMTP_REJECTED',
    check: (e) => {
      expect(e).toMatchObject({ permanent: false });
      expect((e as MailError).rejectedDetails).toEqual([{ address: 'bob@example.com', responseCode: 450, permanent: false }]);
    },
  },
  {
    name: 'RCPT 450 on one of two recipients',
    script: { replies: { RCPT: (line) => (line.includes('carol') ? '450 4.2.0 Mailbox busy' : '250 2.1.5 Ok') } },
    message: { to: TWO },
    expect: 'delivered',
    check: (r) => {
      const res = r as SendResult;
      expect(res.accepted).toEqual(['bob@example.com']);
      expect(res.rejectedDetails).toEqual([{ address: 'carol@example.com', responseCode: 450, permanent: false }]);
      expect(res.warnings.map((w) => w.code)).toContain('RECIPIENTS_DEFERRED');
      expect(res.warnings.map((w) => w.code)).not.toContain('RECIPIENTS_REJECTED');
    },
  },
  {
    name: 'RCPT 550 on one of two recipients',
    script: { replies: { RCPT: (line) => (line.includes('carol') ? '550 5.1.1 No such user' : '250 2.1.5 Ok') } },
    message: { to: TWO },
    expect: 'delivered',
    check: (r) => {
      expect((r as SendResult).rejectedDetails).toEqual([{ address: 'carol@example.com', responseCode: 550, permanent: true }]);
      expect((r as SendResult).warnings.map((w) => w.code)).toContain('RECIPIENTS_REJECTED');
    },
  },
  {
    name: 'PIPELINING: every RCPT refused, yet 354 to DATA',
    script: {
      extensions: ['PIPELINING', '8BITMIME'],
      replies: { RCPT: '550 5.1.1 No such user', DATA: '354 go ahead' },
      afterDot: '554 5.5.1 No valid recipients',
    },
    expect: 'SMTP_REJECTED',
    check: (e) => expect((e as MailError).rejectedDetails).toEqual([{ address: 'bob@example.com', responseCode: 550, permanent: true }]),
  },
  {
    // Every recipient refused: the message has nowhere to go, whatever the server does after its 354.
    name: 'PIPELINING: every RCPT refused, 354 to DATA, then silence',
    script: {
      extensions: ['PIPELINING', '8BITMIME'],
      replies: { RCPT: '550 5.1.1 No such user', DATA: '354 go ahead' },
      afterDot: 'silent',
    },
    expect: 'SMTP_REJECTED',
    check: (e) => expect((e as MailError).rejectedDetails).toEqual([{ address: 'bob@example.com', responseCode: 550, permanent: true }]),
  },
  {
    name: 'PIPELINING: one RCPT deferred and one refused, 354 to DATA, then silence',
    script: {
      extensions: ['PIPELINING', '8BITMIME'],
      replies: { RCPT: (line) => (line.includes('carol') ? '450 4.2.0 Mailbox busy' : '550 5.1.1 No such user'), DATA: '354 go ahead' },
      afterDot: 'silent',
    },
    message: { to: TWO },
    expect: 'SMTP_REJECTED',
    check: (e) => {
      // The temporary refusal speaks for the whole: not a permanent failure.
      expect(e).toMatchObject({ responseCode: 450, permanent: false });
      expect((e as MailError).rejectedDetails).toEqual([
        { address: 'bob@example.com', responseCode: 550, permanent: true },
        { address: 'carol@example.com', responseCode: 450, permanent: false },
      ]);
    },
  },
  {
    name: 'DATA 554',
    script: { replies: { DATA: '554 5.7.1 refused' } },
    expect: 'SMTP_MESSAGE_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: true }),
  },
  {
    name: 'DATA 451',
    script: { replies: { DATA: '451 4.3.0 later' } },
    expect: 'SMTP_MESSAGE_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: false }),
  },
  {
    name: '554 after the dot',
    script: { afterDot: '554 5.7.1 spam' },
    expect: 'SMTP_MESSAGE_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: true }),
  },
  {
    name: '451 after the dot',
    script: { afterDot: '451 4.3.0 later' },
    expect: 'SMTP_MESSAGE_REJECTED',
    check: (e) => expect(e).toMatchObject({ permanent: false }),
  },
  { name: '552 after the dot', script: { afterDot: '552 5.3.4 too big' }, expect: 'SMTP_MESSAGE_TOO_LARGE' },
  { name: '421 after the dot', script: { afterDot: { reply: '421 4.3.2 shutting down', then: 'close' } }, expect: 'SMTP_MESSAGE_REJECTED' },
  {
    name: 'drop in mid-DATA',
    script: { midData: { afterBytes: 65536, action: 'destroy' } },
    message: { attachments: [{ filename: 'big.bin', content: endless() }] },
    deadlineMs: 30_000,
    expect: 'SMTP_CONNECTION',
  },
  {
    name: 'drop after the dot',
    script: { afterDot: 'destroy' },
    expect: 'SMTP_DELIVERY_UNKNOWN',
    check: (e) => expect(e).toMatchObject({ deliveryUnknown: true }),
  },
  { name: 'silence after the dot', script: { afterDot: 'silent' }, expect: 'SMTP_DELIVERY_UNKNOWN' },
  { name: 'silence instead of a greeting', script: { greeting: 'silent' }, expect: 'SMTP_TIMEOUT' },
  { name: 'silence after MAIL FROM', script: { replies: { MAIL: 'silent' } }, expect: 'SMTP_TIMEOUT' },
  { name: 'a greeting one byte at a time', script: { greeting: { trickle: '220 fault.example ESMTP slow server', everyMs: 50 } }, expect: 'SMTP_TIMEOUT' },
  {
    name: 'a DATA reply one byte at a time',
    script: { replies: { DATA: { trickle: '354 End data with <CR><LF>.<CR><LF> slowly', everyMs: 50 } } },
    expect: 'SMTP_TIMEOUT',
  },
  {
    name: 'STARTTLS answered 454',
    script: { extensions: ['STARTTLS', 'AUTH PLAIN LOGIN'], replies: { STARTTLS: '454 4.7.0 TLS not available due to temporary reason' } },
    smtp: { security: 'starttls' },
    expect: 'SMTP_TLS',
    check: (e) => {
      expect(e).toMatchObject({ responseCode: 454, permanent: false });
      expect((e as MailError).hint).not.toMatch(/does not offer/);
      expect((e as MailError).hint).toMatch(/temporar/i);
    },
  },
  {
    name: 'STARTTLS required, not offered',
    script: { extensions: ['AUTH PLAIN LOGIN'] },
    smtp: { security: 'starttls' },
    expect: 'SMTP_TLS',
    check: (e) => expect((e as MailError).hint).toMatch(/does not offer STARTTLS/),
  },
  {
    name: 'STARTTLS: 220, then the connection closes',
    script: { extensions: ['STARTTLS'], replies: { STARTTLS: { reply: '220 go ahead', then: 'destroy' } } },
    smtp: { security: 'starttls' },
    expect: 'SMTP_TLS',
  },
  {
    name: 'STARTTLS with an untrusted certificate',
    script: { extensions: ['STARTTLS'] },
    smtp: { security: 'starttls', tls: undefined },
    expect: 'SMTP_TLS',
    check: (e) => expect((e as MailError).hint).toMatch(/certificate/),
  },
  {
    name: 'STARTTLS, then delivery over TLS',
    script: { extensions: ['STARTTLS', 'AUTH PLAIN LOGIN'] },
    smtp: { ...withAuth, security: 'starttls' },
    expect: 'delivered',
  },
  {
    name: 'a server that echoes AUTH PLAIN in its refusal',
    script: { authReply: (line) => `535 5.7.8 Authentication failed for ${line}` },
    smtp: withAuth,
    expect: 'SMTP_AUTH',
  },
  {
    name: 'a server that echoes AUTH LOGIN in its refusal',
    script: { extensions: ['AUTH LOGIN'], authReply: (line) => `535 5.7.8 Bad password ${line} (base64)` },
    smtp: withAuth,
    expect: 'SMTP_AUTH',
  },
  {
    name: 'SIZE 2000 advertised, a 30 kB message: refused before MAIL FROM, naming the limit',
    script: { extensions: ['SIZE 2000', '8BITMIME'] },
    message: { attachments: [{ filename: 'devis.pdf', content: Buffer.alloc(30_000, 7) }] },
    expect: 'SMTP_MESSAGE_TOO_LARGE',
    check: (e) => expect((e as MailError).message).toContain('2000 bytes'),
  },
  {
    name: 'SIZE 100000 advertised: SIZE= on MAIL FROM is the exact size',
    script: { extensions: ['SIZE 100000', '8BITMIME'] },
    message: { attachments: [{ filename: 'devis.pdf', content: Buffer.alloc(30_000, 7) }] },
    expect: 'delivered',
  },
  {
    name: 'an attachment stream that fails while sending',
    script: {},
    message: { attachments: [{ filename: 'a.bin', content: failing() }] },
    expect: 'ATTACHMENT_UNREADABLE',
  },
];

/** An attachment far larger than the socket buffers, produced lazily. */
function endless(): Readable {
  let n = 0;
  return new Readable({
    read() {
      this.push(n++ < 512 ? Buffer.alloc(16384, 65) : null);
    },
  });
}

function failing(): Readable {
  let n = 0;
  return new Readable({
    read() {
      if (n++ < 2) this.push(Buffer.alloc(1000, 66));
      else this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    },
  });
}

const counts = { tried: 0, rejectedWithCode: 0, deliveredIntact: 0, misbehaved: 0 };
const misbehaved: string[] = [];

afterAll(() => {
  console.log(
    `fault table: tried ${counts.tried}, rejected with code ${counts.rejectedWithCode}, delivered intact ${counts.deliveredIntact}, misbehaved ${counts.misbehaved}` +
      (misbehaved.length ? `\n  ${misbehaved.join('\n  ')}` : ''),
  );
});

describe('fault table', () => {
  test.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    counts.tried++;
    let server: FaultServer | undefined;
    const port = row.refuse ? await freePort() : (server = await startFaultServer(row.script ?? {})).port;
    const mailer = createMailer(smtpSettings(port, { timeoutMs: 1000, ...row.smtp }));
    const message: MailMessage = { to: 'bob@example.com', subject: 'Relance n° 3', text: 'Bonjour Zoé', ...row.message };
    let outcome: MailError | SendResult;
    try {
      outcome = await mailer.send(message, { deadlineMs: row.deadlineMs ?? 700 });
    } catch (err) {
      outcome = err as MailError;
    } finally {
      mailer.close();
      await server?.close();
    }
    try {
      if (row.expect === 'delivered') {
        expect(outcome).not.toBeInstanceOf(Error);
        const got = server!.sessions.flatMap((s) => s.messages);
        expect(got).toHaveLength(1);
        const parsed = await simpleParser(got[0]);
        expect(parsed.subject).toBe('Relance n° 3');
        expect(parsed.text?.trim()).toBe('Bonjour Zoé');
        expect(parsed.messageId).toBe((outcome as SendResult).messageId);
        const mailFrom = server!.sessions.flatMap((s) => s.lines).find((l) => l.startsWith('MAIL FROM'));
        const size = /SIZE=(\d+)/.exec(mailFrom ?? '')?.[1];
        if (row.script?.extensions?.some((x) => x.startsWith('SIZE'))) expect(Number(size)).toBe(got[0].length);
        else expect(size).toBeUndefined();
      } else {
        expect(outcome).toBeInstanceOf(MailError);
        const err = outcome as MailError;
        expect({ code: err.code, message: err.message }).toMatchObject({ code: row.expect });
        expect(err.code in ERROR_CODES).toBe(true);
        // Refused for its size: not a byte of it was uploaded, not even MAIL FROM.
        if (err.code === 'SMTP_MESSAGE_TOO_LARGE' && row.script?.extensions) {
          expect(server!.sessions.flatMap((s) => s.lines).filter((l) => /^(MAIL|RCPT|DATA)/.test(l))).toEqual([]);
        }
        if (row.expect !== 'SMTP_DELIVERY_UNKNOWN') expect(err.deliveryUnknown).toBeUndefined();
        // Before the final dot, the server has no message (after it, it has one it refused or left unanswered).
        if (!row.script?.afterDot && !row.script?.replies?.DATA?.toString().startsWith('354')) {
          expect(server?.sessions.flatMap((s) => s.messages) ?? []).toHaveLength(0);
        }
        // No form of the credentials in anything the error shows.
        const shown = [err.message, err.hint ?? '', inspect(err, { depth: 8 }), JSON.stringify(err)].join('\n');
        for (const secret of SECRETS) expect(shown).not.toContain(secret);
      }
      row.check?.(outcome);
      if (row.expect === 'delivered') counts.deliveredIntact++;
      else counts.rejectedWithCode++;
    } catch (assertion) {
      counts.misbehaved++;
      misbehaved.push(`${row.name}: ${outcome instanceof Error ? `${(outcome as MailError).code}: ${outcome.message}` : JSON.stringify(outcome)}`);
      throw assertion;
    }
  });

  test('no row misbehaved', () => {
    expect(counts.tried).toBe(ROWS.length);
    expect(misbehaved).toEqual([]);
  });
});

test.each(['abort', 'close'] as const)(
  "every RCPT refused, 354, then silence: the caller's %s after the empty message is still SMTP_REJECTED (nothing was sent)",
  async (how) => {
    const server = await startFaultServer({
      extensions: ['PIPELINING', '8BITMIME'],
      replies: { RCPT: '550 5.1.1 No such user', DATA: '354 go ahead' },
      afterDot: 'silent',
    });
    const mailer = createMailer(smtpSettings(server.port));
    const controller = new AbortController();
    const sending = mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { signal: controller.signal }).catch((e: unknown) => e);
    // nodemailer ends the transaction with an empty message ("." alone): then the server says nothing.
    await new Promise((resolve) => server.events.once('dot', resolve));
    if (how === 'abort') controller.abort();
    else await mailer.close();
    const err = (await sending) as MailError;
    await mailer.close();
    await server.close();
    expect(err).toBeInstanceOf(MailError);
    expect(err).toMatchObject({ code: 'SMTP_REJECTED', responseCode: 550, permanent: true });
    expect(err.rejectedDetails).toEqual([{ address: 'bob@example.com', responseCode: 550, permanent: true }]);
    expect(err.deliveryUnknown).toBeUndefined();
    expect(server.sessions.flatMap((s) => s.messages).map((m) => m.length)).toEqual([0]);
  },
);
