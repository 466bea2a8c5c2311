/**
 * The copy in Sent against a real Dovecot (loopback, started by the test) next to a real
 * smtp-server: what Dovecot holds is read back with doveadm, by Message-ID.
 */
import * as path from 'node:path';
import { createMailer } from '../../lib';
import { filesSentItself, pickSentFolder, sentCopierFor } from '../../lib/imap/sent-copy';
import { validateSettings } from '../../lib/settings';
import { Dovecot, DOVECOT, startDovecot } from '../helpers/dovecot';
import { startServer, TestServer } from '../helpers/server';
import { freePort, tempDir } from '../helpers/fixtures';
import { requireTool } from '../helpers/tools';

jest.setTimeout(60_000);

const crlf = (s: string | Buffer) => s.toString().replace(/\r\n/g, '\n').trimEnd();

function settings(smtpPort: number, imap: Dovecot, extra: Record<string, unknown> = {}) {
  return {
    label: 'Alice Martin',
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp' as const,
    smtp: { host: '127.0.0.1', port: smtpPort, security: 'none' as const },
    imap: { host: '127.0.0.1', port: imap.port, username: imap.user, password: imap.password },
    ...extra,
  };
}

test('auto skips the providers that file SMTP-submitted mail themselves (decided by the SMTP host); imap and off are obeyed', () => {
  const s = (sentCopy: string, host = 'smtp.gmail.com') =>
    validateSettings({ email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host }, imap: { host: 'imap.example.com' }, sentCopy });
  expect(
    ['smtp.gmail.com', 'smtp.googlemail.com', 'smtp.office365.com', 'outlook.office365.com', 'smtp-mail.outlook.com', 'mail.example.com'].map(filesSentItself),
  ).toEqual(['gmail', 'gmail', 'microsoft365', 'microsoft365', 'microsoft365', undefined]);
  expect(sentCopierFor(s('auto'), 'smtp.gmail.com')).toBeUndefined();
  expect(sentCopierFor(s('auto', 'smtp.office365.com'), 'smtp.office365.com')).toBeUndefined();
  expect(sentCopierFor(s('imap'), 'smtp.gmail.com')).toBeInstanceOf(Function);
  expect(sentCopierFor(s('auto', 'mail.example.com'), 'mail.example.com')).toBeInstanceOf(Function);
  expect(sentCopierFor(s('off', 'mail.example.com'), 'mail.example.com')).toBeUndefined();
  expect(() => validateSettings({ sentCopy: 'imap' })).toThrow(/imap\.host/);
  expect(() => validateSettings({ imap: { host: 'imap.example.com', port: 993, security: 'starttls' } })).toThrow(/993/);
  expect(() => validateSettings({ imap: { host: 'imap.example.com', security: 'none', username: 'u', password: 'p' } })).toThrow(/clear text/);
  // SPECIAL-USE first, then the usual names.
  expect(pickSentFolder([{ path: 'Sent' }, { path: 'Éléments envoyés', specialUse: '\\Sent', specialUseSource: 'extension' }])).toBe('Éléments envoyés');
  expect(pickSentFolder([{ path: 'INBOX' }, { path: 'INBOX.Sent' }])).toBe('INBOX.Sent');
  expect(pickSentFolder([{ path: 'INBOX' }])).toBeUndefined();
});

test('imapflow is loaded only when a copy is made: a mailer that sends without imap settings never loads it', async () => {
  const { execFileSync } = await import('node:child_process');
  const dist = path.join(__dirname, '..', '..', 'dist', 'index.js');
  const code = `const { createMailer } = require(${JSON.stringify(dist)});
    const m = createMailer({ email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host: '127.0.0.1', port: 1 } }, { outbox: { dir: process.argv[1], background: false } });
    m.send({ to: 'b@example.com', subject: 's', text: 'x' }).catch(() => undefined).then(() => m.close()).then(() => {
      process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('imapflow'))));
    });`;
  expect(execFileSync(process.execPath, ['-e', code, path.join(tempDir(), 'ob')]).toString()).toBe('false');
  // The same check sees it once a copy is tried (here to a closed port: a warning, and imapflow loaded).
  const copy = path.join(__dirname, '..', '..', 'dist', 'imap', 'sent-copy.js');
  const tried = `require(${JSON.stringify(copy)}).appendToSent({ host: '127.0.0.1', port: 1, security: 'none' }, { buffer: Buffer.from('x') })
    .then((r) => process.stdout.write(r.warning.code + ' ' + Object.keys(require.cache).some((k) => k.includes('imapflow'))));`;
  expect(execFileSync(process.execPath, ['-e', tried]).toString()).toBe('SENT_COPY_FAILED true');
});

test('with the SMTP OAuth2 sign-in, the copy asks the same token source (one per mailer); a token that cannot be had is a SENT_COPY_FAILED warning', async () => {
  const asked: string[] = [];
  const source = { user: 'alice@example.com', getAccessToken: async () => (asked.push('token'), Promise.reject(new Error('refresh refused'))) };
  const s = validateSettings({
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp',
    smtp: { host: 'mail.example.com' },
    imap: { host: '127.0.0.1', port: 1, security: 'none' },
  });
  const copier = sentCopierFor(s, 'mail.example.com', source);
  const r = await copier?.({
    messageId: '<x@example.com>',
    envelope: { from: 'a@example.com', to: [] },
    size: 1,
    buffer: Buffer.from('x'),
    dispose: async () => undefined,
  });
  expect(r).toMatchObject({ saved: false, warning: { code: 'SENT_COPY_FAILED', message: expect.stringMatching(/no OAuth2 access token: refresh refused/) } });
  expect(asked).toEqual(['token']);
});

if (requireTool('Dovecot (dovecot-imapd)', DOVECOT, 'apt-get install -y dovecot-imapd')) {
  describe('copy in Sent with a real Dovecot', () => {
    let smtp: TestServer;
    const dovecots: Dovecot[] = [];
    const dovecot = async (o?: Parameters<typeof startDovecot>[0]) => {
      const d = await startDovecot(o);
      dovecots.push(d);
      return d;
    };
    beforeEach(async () => {
      smtp = await startServer();
    });
    afterEach(async () => {
      await smtp.close();
      await Promise.all(dovecots.splice(0).map((d) => d.stop()));
    });

    test('the copy is in the folder flagged \\Sent, found by its Message-ID, \\Seen, with the bytes that were sent; savedToSent only then', async () => {
      const imap = await dovecot({ sentFolder: 'Éléments envoyés' });
      const mailer = createMailer(settings(smtp.port, imap));
      try {
        const r = await mailer.send({ to: 'bob@example.com', bcc: 'audit@example.com', subject: 'Facture n° 12 – été', text: 'Bonjour Zoé' });
        expect(r.savedToSent).toBe(true);
        expect(r.warnings).toEqual([]);
        const copies = await imap.find('Éléments envoyés', r.messageId as string);
        expect(copies).toHaveLength(1);
        expect(copies[0].flags).toMatch(/\\Seen/);
        expect(crlf(copies[0].text)).toBe(crlf(smtp.received[0].raw));
        // Bcc is not in the copy, as it was not in what went out.
        expect(copies[0].text).not.toMatch(/^Bcc:/im);
      } finally {
        await mailer.close();
      }
    });

    test('without a \\Sent flag, the folder is found by its usual name (Sent Items)', async () => {
      const imap = await dovecot({ sentFolder: 'Sent Items', flagSent: false });
      const mailer = createMailer(settings(smtp.port, imap));
      try {
        const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
        expect(r.savedToSent).toBe(true);
        expect(await imap.find('Sent Items', r.messageId as string)).toHaveLength(1);
      } finally {
        await mailer.close();
      }
    });

    test('IMAP down: the send succeeds once with a SENT_COPY_FAILED warning; the copy is made at the next flush, the message not sent again', async () => {
      const imap = await dovecot();
      await imap.stop();
      const mailer = createMailer(settings(smtp.port, imap), { outbox: { dir: path.join(tempDir(), 'ob'), background: false } });
      try {
        const r = await mailer.send({ to: 'bob@example.com', subject: 'copie', text: 'x' });
        expect(r).toMatchObject({ queued: false, savedToSent: false, accepted: ['bob@example.com'] });
        expect(r.warnings.map((w) => w.code)).toEqual(['SENT_COPY_FAILED']);
        expect(r.warnings[0].message).not.toContain(imap.password);
        const [entry] = await mailer.outboxEntries();
        expect(entry).toMatchObject({ state: 'sent', sentCopy: 'pending', messageId: r.messageId });
        await imap.start();
        const report = await mailer.flush();
        expect(report).toMatchObject({ copied: 1, tried: 0, sent: 0 });
        const copies = await imap.find('Sent', r.messageId as string);
        expect(copies).toHaveLength(1);
        expect(copies[0].flags).toMatch(/\\Seen/);
        expect(smtp.received).toHaveLength(1);
        expect(await mailer.outboxEntries()).toEqual([]);
      } finally {
        await mailer.close();
      }
    });

    test('a 4xx for one recipient with IMAP down: one entry, the copy made at the next flush, once, while the deferred recipient waits', async () => {
      await smtp.close();
      let deferring = true;
      smtp = await startServer({
        onRcptTo(address, _session, cb) {
          if (address.address === 'late@example.com' && deferring) return cb(Object.assign(new Error('4.2.0 busy'), { responseCode: 450 }));
          cb();
        },
      });
      const imap = await dovecot();
      await imap.stop();
      const mailer = createMailer(settings(smtp.port, imap), { outbox: { dir: path.join(tempDir(), 'ob'), background: false } });
      try {
        const r = await mailer.send({ to: ['bob@example.com', 'late@example.com'], subject: 'moitié', text: 'x' });
        expect(r).toMatchObject({ queued: true, savedToSent: false, accepted: ['bob@example.com'], queuedRecipients: ['late@example.com'] });
        expect(r.warnings.map((w) => w.code).sort()).toEqual(['MESSAGE_QUEUED', 'SENT_COPY_FAILED']);
        const entries = await mailer.outboxEntries();
        expect(entries.map((e) => [e.state, e.sentCopy])).toEqual([['queued', 'pending']]);
        await imap.start();
        expect(await mailer.flush()).toMatchObject({ copied: 1, sent: 0, queued: 1 });
        expect(await imap.find('Sent', r.messageId as string)).toHaveLength(1);
        deferring = false;
        expect(await mailer.flush()).toMatchObject({ copied: 0, sent: 1 });
        expect(await imap.find('Sent', r.messageId as string)).toHaveLength(1);
        expect(smtp.received.map((m) => m.rcptTo.map((x) => x.address))).toEqual([['bob@example.com'], ['late@example.com']]);
      } finally {
        await mailer.close();
      }
    });

    test('a queued message gets its copy when the flush sends it; a refused IMAP login is a warning without the password', async () => {
      const imap = await dovecot();
      const port = await freePort();
      const dir = path.join(tempDir(), 'ob');
      const mailer = createMailer(settings(port, imap), { outbox: { dir, background: false } });
      const wrong = createMailer(
        settings(smtp.port, imap, { imap: { host: '127.0.0.1', port: imap.port, username: imap.user, password: 'not-the-Secret-42' } }),
      );
      try {
        const r = await mailer.send({ to: 'bob@example.com', subject: 'plus tard', text: 'x' });
        expect(r.queued).toBe(true);
        expect(await imap.find('Sent', r.messageId as string)).toHaveLength(0);
        const up = await startServer({ listenPort: port });
        try {
          expect(await mailer.flush()).toMatchObject({ sent: 1, copied: 1 });
          expect(up.received.map((m) => m.parsed.messageId)).toEqual([r.messageId]);
        } finally {
          await mailer.close();
          await up.close();
        }
        expect(await imap.find('Sent', r.messageId as string)).toHaveLength(1);

        const w = await wrong.send({ to: 'bob@example.com', subject: 's', text: 'x' });
        expect(w.savedToSent).toBe(false);
        expect(w.warnings[0].code).toBe('SENT_COPY_FAILED');
        expect(w.warnings[0].message).toMatch(/login refused/);
        expect(w.warnings[0].message).not.toContain('not-the-Secret-42');
      } finally {
        await mailer.close();
        await wrong.close();
      }
    });
  });
}
