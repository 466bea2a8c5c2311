/**
 * The outbox against a real smtp-server on loopback: what is queued, what the server receives
 * when the queue is flushed (once, with the same Message-ID and bytes), and what becomes failed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMailer, MailError } from '../../lib';
import type { OutboxEvent } from '../../lib/outbox/outbox';
import { retryDelay, classify } from '../../lib/outbox/policy';
import { openSettingsStore } from '../../lib/store/store';
import { userOutboxDir } from '../../lib/outbox/paths';
import { FaultServer, startFaultServer } from '../helpers/fault-server';
import { tempDir, writeFixture } from '../helpers/fixtures';
import { freePort, plainSmtpSettings, useServers } from '../helpers/outbox';

const settings = (port: number) => plainSmtpSettings(port, { label: 'Alice Martin' });
const serve = useServers();

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

test('server down: the message is queued (queued: true, MESSAGE_QUEUED with the reason); server up: flushed, delivered once with the same Message-ID and bytes', async () => {
  const port = await freePort();
  const dir = tempDir();
  const att = writeFixture(dir, 'facture.pdf', Buffer.alloc(200_000, 7));
  const mailer = createMailer(settings(port), { outbox: { dir: path.join(dir, 'outbox'), background: false } });
  const events: OutboxEvent[] = [];
  mailer.on('queued', (e) => events.push(e)).on('sent', (e) => events.push(e));
  try {
    const r = await mailer.send({ to: 'bob@example.com', bcc: 'audit@example.com', subject: 'Facture n° 12', text: 'Bonjour', attachments: [{ path: att }] });
    expect(r.queued).toBe(true);
    expect(r.accepted).toEqual([]);
    expect(r.messageId).toMatch(/^<.+@.+>$/);
    expect(r.warnings.map((w) => w.code)).toEqual(['MESSAGE_QUEUED']);
    expect(r.warnings[0].message).toMatch(/SMTP_CONNECTION/);
    expect(r.queuedRecipients).toEqual(['bob@example.com', 'audit@example.com']);
    const [entry] = await mailer.outboxEntries();
    expect(entry).toMatchObject({ id: r.outboxId, state: 'queued', messageId: r.messageId, subject: 'Facture n° 12' });
    expect(Date.parse(entry.nextAttemptAt as string) - Date.parse(entry.createdAt)).toBeGreaterThanOrEqual(48_000);
    expect(events.map((e) => e.type)).toEqual(['queued']);
    const stored = readFileSync(path.join(dir, 'outbox', 'entries', entry.id, 'message.eml'));
    // Nothing left in tmp: the composed file was taken over by the rename.
    expect(readdirSync(path.join(dir, 'outbox', 'tmp'))).toEqual([]);

    const server = await serve({ listenPort: port });
    const report = await mailer.flush();
    expect(report).toMatchObject({ tried: 1, sent: 1, queued: 0, failed: 0 });
    expect(server.received).toHaveLength(1);
    expect(server.received[0].parsed.messageId).toBe(r.messageId);
    expect(server.received[0].raw.equals(stored)).toBe(true);
    expect(server.received[0].rcptTo.map((x) => x.address)).toEqual(['bob@example.com', 'audit@example.com']);
    expect(server.received[0].parsed.attachments[0].content.length).toBe(200_000);
    expect(await mailer.outboxEntries()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['queued', 'sent']);
    // A second flush sends nothing again.
    expect(await mailer.flush()).toMatchObject({ tried: 0, sent: 0 });
    expect(server.received).toHaveLength(1);
  } finally {
    await mailer.close();
  }
});

test('451 then 250: queued by the first reply, sent by the background retry (first retry from firstRetryMs), once', async () => {
  let calls = 0;
  const server = await serve({
    onMailFrom(_address, _session, cb) {
      calls++;
      if (calls === 1) return cb(smtpError(451, '4.3.0 Try again later'));
      cb();
    },
  });
  const mailer = createMailer(settings(server.port), { outbox: { dir: path.join(tempDir(), 'ob'), firstRetryMs: 30 } });
  try {
    const sent = new Promise<OutboxEvent>((resolve) => mailer.on('sent', resolve));
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    expect(r.queued).toBe(true);
    expect(r.warnings[0].message).toMatch(/451/);
    const e = await sent;
    expect(e.entry.messageId).toBe(r.messageId);
    expect(e.entry.attempts.map((a) => [a.outcome, a.responseCode])).toEqual([
      ['transient', 451],
      ['sent', undefined],
    ]);
    expect(server.received.map((m) => m.parsed.messageId)).toEqual([r.messageId]);
  } finally {
    await mailer.close();
  }
});

test('a permanent 550 at the retry: the entry is failed, with the server reply kept; a 550 at the first try throws and queues nothing', async () => {
  const port = await freePort();
  const dir = path.join(tempDir(), 'ob');
  const mailer = createMailer(settings(port), { outbox: { dir, background: false } });
  try {
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    expect(r.queued).toBe(true);
    await serve({ listenPort: port, onMailFrom: (_a, _s, cb) => cb(smtpError(550, '5.7.1 Sender rejected by policy')) });
    const failed = new Promise<OutboxEvent>((resolve) => mailer.on('failed', resolve));
    const report = await mailer.flush();
    expect(report).toMatchObject({ tried: 1, failed: 1, sent: 0 });
    const e = await failed;
    expect(e.error).toBeInstanceOf(MailError);
    const [entry] = await mailer.outboxEntries();
    expect(entry.state).toBe('failed');
    expect(entry.reason).toMatch(/550.*Sender rejected by policy/);
    expect(entry.attempts[entry.attempts.length - 1]).toMatchObject({ outcome: 'permanent', responseCode: 550 });
    // Failed entries are not retried by a flush; a person's retry puts it back.
    expect(await mailer.flush()).toMatchObject({ tried: 0 });
    const err = await mailer.send({ to: 'bob@example.com', subject: 's2', text: 'x' }).catch((x) => x);
    expect(err).toMatchObject({ code: 'SMTP_REJECTED', responseCode: 550 });
    expect((await mailer.outboxEntries()).length).toBe(1);
  } finally {
    await mailer.close();
  }
});

test('age limit: a transient failure after maxAgeMs makes the entry failed, with the last reply', async () => {
  const port = await freePort();
  const mailer = createMailer(settings(port), { outbox: { dir: path.join(tempDir(), 'ob'), background: false, maxAgeMs: 1 } });
  try {
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    expect(r.queued).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const report = await mailer.flush();
    expect(report).toMatchObject({ tried: 1, failed: 1 });
    const [entry] = await mailer.outboxEntries();
    expect(entry.state).toBe('failed');
    expect(entry.reason).toMatch(/gave up after .* temporary failures; last: .*ECONNREFUSED|gave up after .* connection/);
    expect(entry.attempts.map((a) => a.outcome)).toEqual(['transient', 'transient']);
  } finally {
    await mailer.close();
  }
});

test('partial 4xx: the recipients that got 250 are not sent again; only the deferred one is queued and flushed', async () => {
  let deferring = true;
  const server = await serve({
    onRcptTo(address, _session, cb) {
      if (address.address === 'late@example.com' && deferring) return cb(smtpError(450, '4.2.0 Mailbox busy'));
      if (address.address === 'gone@example.com') return cb(smtpError(550, '5.1.1 No such user'));
      cb();
    },
  });
  const mailer = createMailer(settings(server.port), { outbox: { dir: path.join(tempDir(), 'ob'), background: false } });
  try {
    const r = await mailer.send({ to: ['bob@example.com', 'late@example.com', 'gone@example.com'], subject: 's', text: 'x' });
    expect(r).toMatchObject({ queued: true, accepted: ['bob@example.com'], queuedRecipients: ['late@example.com'] });
    expect(r.rejected.sort()).toEqual(['gone@example.com', 'late@example.com']);
    expect(r.warnings.map((w) => w.code).sort()).toEqual(['MESSAGE_QUEUED', 'RECIPIENTS_REJECTED']);
    expect(r.rejectedDetails).toEqual([
      { address: 'late@example.com', responseCode: 450, permanent: false },
      { address: 'gone@example.com', responseCode: 550, permanent: true },
    ]);
    deferring = false;
    expect(await mailer.flush()).toMatchObject({ sent: 1 });
    expect(server.received.map((m) => [m.parsed.messageId, m.rcptTo.map((x) => x.address)])).toEqual([
      [r.messageId, ['bob@example.com']],
      [r.messageId, ['late@example.com']],
    ]);
  } finally {
    await mailer.close();
  }
});

test('retry ID puts a failed entry back; remove ID drops it; ids resolve by prefix or Message-ID', async () => {
  const port = await freePort();
  const dir = path.join(tempDir(), 'ob');
  const mailer = createMailer(settings(port), { outbox: { dir, background: false, maxAgeMs: 1 } });
  const { Outbox } = await import('../../lib/outbox/outbox');
  const box = new Outbox({ dir });
  try {
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await mailer.flush();
    expect((await box.show(r.messageId as string)).state).toBe('failed');
    const again = await box.retry((r.outboxId as string).slice(0, 10));
    expect(again.state).toBe('queued');
    const server = await serve({ listenPort: port });
    expect(await mailer.flush()).toMatchObject({ sent: 1 });
    expect(server.received).toHaveLength(1);
    const down = createMailer(settings(await freePort()), { outbox: { dir, background: false } });
    const r3 = await down.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    await down.close();
    expect(r3.queued).toBe(true);
    await box.remove(r3.outboxId as string);
    expect(await box.list()).toEqual([]);
    await expect(box.show(r3.outboxId as string)).rejects.toMatchObject({ code: 'OUTBOX_NOT_FOUND' });
  } finally {
    await mailer.close();
  }
});

test('an unknown outcome (SMTP_DELIVERY_UNKNOWN) is never resent: held, and only a person retries it', () => {
  const unknown = new MailError('SMTP_CONNECTION', 'x');
  Object.defineProperty(unknown, 'deliveryUnknown', { value: true });
  expect(classify(unknown)).toBe('unknown');
  expect(classify(Object.assign(new Error('x'), { code: 'SMTP_DELIVERY_UNKNOWN' }))).toBe('unknown');
  expect(classify(new MailError('SMTP_CONNECTION', 'refused'))).toBe('transient');
  expect(classify(new MailError('SMTP_TIMEOUT', 'slow'))).toBe('transient');
  expect(classify(new MailError('SMTP_AUTH', 'busy', { responseCode: 454 }))).toBe('transient');
  expect(classify(new MailError('SMTP_AUTH', 'no', { responseCode: 535 }))).toBe('permanent');
  expect(classify(new MailError('SMTP_TLS', 'cert'))).toBe('permanent');
  expect(classify(new MailError('ABORTED', 'by caller'))).toBe('permanent');
  expect(classify(new TypeError('bug'))).toBe('permanent');
  // Backoff: about a minute first, doubling, capped, with jitter.
  const policy = { firstRetryMs: 60_000, maxRetryMs: 3_600_000, maxAgeMs: 1 };
  expect([1, 2, 3, 10].map((n) => retryDelay(n, policy, () => 0.5))).toEqual([60_000, 120_000, 240_000, 3_600_000]);
  expect(retryDelay(1, policy, () => 0)).toBe(48_000);
  expect(retryDelay(1, policy, () => 1)).toBe(72_000);
});

test("outbox: true in a store user's settings: send --user follows it, in that user's own folder beside the store", async () => {
  const port = await freePort();
  const dir = tempDir();
  const store = openSettingsStore(path.join(dir, 'users.json'));
  await store.set('alice', { ...settings(port), outbox: true });
  const mailer = await store.mailerFor('alice', { outbox: { background: false } });
  try {
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    expect(r.queued).toBe(true);
    expect(mailer.outboxDir).toBe(userOutboxDir(path.join(dir, 'users.json'), 'alice'));
    expect(existsSync(path.join(mailer.outboxDir as string, 'entries', r.outboxId as string, 'entry.json'))).toBe(true);
  } finally {
    await mailer.close();
  }
  const without = createMailer(settings(port));
  await expect(without.send({ to: 'bob@example.com', subject: 's', text: 'x' })).rejects.toMatchObject({ code: 'SMTP_CONNECTION' });
  await expect(without.flush()).rejects.toMatchObject({ code: 'OUTBOX_DISABLED' });
  await without.close();
});

describe('against a scripted fault server', () => {
  let fault: FaultServer | undefined;
  afterEach(async () => {
    await fault?.close();
    fault = undefined;
  });

  test('a drop after the final dot (SMTP_DELIVERY_UNKNOWN) is held, never resent by a flush; a 421 then close at RCPT is queued', async () => {
    fault = await startFaultServer({ afterDot: 'destroy' });
    const dir = path.join(tempDir(), 'ob');
    const mailer = createMailer(settings(fault.port), { outbox: { dir, background: false } });
    const held: OutboxEvent[] = [];
    mailer.on('held', (e) => held.push(e));
    try {
      const err = await mailer.send({ to: 'bob@example.com', subject: 'peut-être', text: 'x' }).catch((e) => e);
      expect(err).toMatchObject({ code: 'SMTP_DELIVERY_UNKNOWN', deliveryUnknown: true });
      expect(err.outboxId).toEqual(expect.any(String));
      const [entry] = await mailer.outboxEntries();
      expect(entry).toMatchObject({ id: err.outboxId, state: 'held' });
      expect(held.map((e) => e.entry.id)).toEqual([entry.id]);
      const delivered = fault.sessions.reduce((n, s) => n + s.messages.length, 0);
      expect(delivered).toBe(1);
      expect(await mailer.flush()).toMatchObject({ tried: 0, sent: 0 });
      expect(fault.sessions.reduce((n, s) => n + s.messages.length, 0)).toBe(1);
    } finally {
      await mailer.close();
    }
    await fault.close();
    fault = await startFaultServer({ replies: { RCPT: { reply: '421 4.3.2 Service shutting down', then: 'close' } } });
    const mid = createMailer(settings(fault.port), { outbox: { dir, background: false } });
    try {
      const r = await mid.send({ to: 'bob@example.com', subject: 'coupé', text: 'x' });
      expect(r.queued).toBe(true);
      expect(r.warnings[0].message).toMatch(/421/);
      expect((await mid.outboxEntries()).map((e) => e.state).sort()).toEqual(['held', 'queued']);
      expect(fault.sessions.reduce((n, s) => n + s.messages.length, 0)).toBe(0);
    } finally {
      await mid.close();
    }
  });
});

test('managed sending: relay down -> queued; flushed through the relay, with the assigned sender and the same Message-ID', async () => {
  const port = await freePort();
  const relay = { host: '127.0.0.1', port, security: 'none' as const, assignedAddress: 'u-4711@relay.example' };
  const mailer = createMailer(
    { label: 'Alice', email: 'alice@client.example' },
    { managed: relay, outbox: { dir: path.join(tempDir(), 'ob'), background: false } },
  );
  try {
    const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    expect(r).toMatchObject({ protocol: 'managed', queued: true });
    const [entry] = await mailer.outboxEntries();
    expect(entry).toMatchObject({ protocol: 'managed', envelope: { from: 'u-4711@relay.example', to: ['bob@example.com'] } });
    const server = await serve({ listenPort: port });
    expect(await mailer.flush()).toMatchObject({ sent: 1 });
    expect(server.received.map((m) => [m.mailFrom, m.parsed.messageId, m.parsed.replyTo?.value[0].address])).toEqual([
      ['u-4711@relay.example', r.messageId, 'alice@client.example'],
    ]);
  } finally {
    await mailer.close();
  }
});

test('events as an async iterator; close() stops the background retries and waits for a retry in progress', async () => {
  let release: () => void = () => undefined;
  let replies = 0;
  const server = await serve({
    onMailFrom(_a, _s, cb) {
      replies++;
      if (replies === 1) return cb(smtpError(451, '4.3.0 later'));
      // The retry waits here until the test has called close().
      release = () => cb();
    },
  });
  const mailer = createMailer(settings(server.port), { outbox: { dir: path.join(tempDir(), 'ob'), firstRetryMs: 20 } });
  const stop = new AbortController();
  const seen: string[] = [];
  const iterating = (async () => {
    for await (const e of mailer.events(stop.signal)) seen.push(`${e.type} ${e.entry.state}`);
  })();
  const r = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
  expect(r.queued).toBe(true);
  // Event-driven: the retry is in progress once the server holds its MAIL FROM.
  while (replies < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  let closed = false;
  const closing = mailer.close().then(() => (closed = true));
  await new Promise((resolve) => setImmediate(resolve));
  expect(closed).toBe(false);
  release();
  await closing;
  stop.abort();
  await iterating;
  expect(seen).toEqual(['queued queued', 'sent sent']);
  expect(server.received.map((m) => m.parsed.messageId)).toEqual([r.messageId]);
  expect(await new (await import('../../lib/outbox/outbox')).Outbox({ dir: mailer.outboxDir as string }).list()).toEqual([]);
});

test('a MAPI mailer with an outbox: MAPI sends are never queued, and a flush has nothing it can send', async () => {
  const mailer = createMailer({ customize: true, protocol: 'mapi' }, { outbox: { dir: path.join(tempDir(), 'ob'), background: false } });
  try {
    await expect(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' })).rejects.toMatchObject({ code: 'MAPI_UNAVAILABLE' });
    expect(await mailer.outboxEntries()).toEqual([]);
    expect(await mailer.flush()).toEqual({ tried: 0, sent: 0, queued: 0, failed: 0, held: 0, copied: 0, busy: 0, results: [] });
  } finally {
    await mailer.close();
  }
});

test('an outbox that cannot be written: the send fails with its own error, which says nothing was kept', async () => {
  const port = await freePort();
  const dir = tempDir();
  const notAFolder = writeFixture(dir, 'file', 'x');
  const mailer = createMailer(settings(port), { outbox: { dir: path.join(notAFolder, 'ob'), background: false } });
  try {
    const err = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'SMTP_CONNECTION' });
    expect(err.message).toMatch(/the outbox could not keep the message either: outbox: could not write to/);
  } finally {
    await mailer.close();
  }
});
