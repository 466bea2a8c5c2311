/**
 * SMTP_DELIVERY_UNKNOWN: once the whole message (final "." included) went out, a connection that
 * drops, a deadline that passes, an abort or close() leave the outcome unknown, and the send says
 * so instead of failing plainly; before the dot the same events are plain failures. Checked
 * against a scripted raw TCP server that records what it received.
 */
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { createMailer, MailError } from '../../lib';
import { FaultServer, Script, startFaultServer } from '../helpers/fault-server';
import { smtpSettings } from '../helpers/server';
import { mailFailure as failure } from '../helpers/fixtures';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An attachment far larger than the socket buffers, produced lazily. */
function endless(): Readable {
  let n = 0;
  return new Readable({
    read() {
      this.push(n++ < 512 ? Buffer.alloc(16384, 65) : null);
    },
  });
}

type Trigger = 'server' | 'abort' | 'close';

const afterDot: [string, Script, Trigger, string][] = [
  ['the server resets the connection after the dot', { afterDot: 'destroy' }, 'server', 'connection ended'],
  ['the server closes (FIN) after the dot', { afterDot: 'close' }, 'server', 'connection ended'],
  ['the server stays silent after the dot (deadline)', { afterDot: 'silent' }, 'server', 'deadline of 400 ms'],
  ['the caller aborts after the dot', { afterDot: 'silent' }, 'abort', 'aborted'],
  ['close() while waiting for the reply to the dot', { afterDot: 'silent' }, 'close', 'mailer was closed'],
];

describe('after the final dot: SMTP_DELIVERY_UNKNOWN, and the server has the message', () => {
  test.each(afterDot)('%s', async (_name, script, trigger, why) => {
    server = await startFaultServer(script);
    const mailer = createMailer(smtpSettings(server.port, { timeoutMs: 60_000 }));
    const controller = new AbortController();
    server.events.once('dot', () => {
      if (trigger === 'abort') controller.abort();
      if (trigger === 'close') mailer.close();
    });
    const err = await failure(
      mailer.send(
        { to: 'bob@example.com', subject: 'Relance', text: 'Bonjour' },
        { signal: controller.signal, deadlineMs: trigger === 'server' ? 400 : 60_000 },
      ),
    );
    mailer.close();
    expect(err.code).toBe('SMTP_DELIVERY_UNKNOWN');
    expect(err.deliveryUnknown).toBe(true);
    expect(err.message).toContain(why);
    expect(err.hint).toMatch(/may have the message.*before sending it again/);
    expect(server.sessions[0].messages).toHaveLength(1);
    const parsed = await simpleParser(server.sessions[0].messages[0]);
    expect(parsed.messageId).toBe(err.messageId);
    expect(parsed.subject).toBe('Relance');
  });
});

const beforeDot: [string, Script, Trigger | 'big', number | undefined, string][] = [
  ['the server resets the connection in mid-DATA', { midData: { afterBytes: 65536, action: 'destroy' } }, 'big', undefined, 'SMTP_CONNECTION'],
  ['the server closes (FIN) in mid-DATA', { midData: { afterBytes: 65536, action: 'close' } }, 'big', undefined, 'SMTP_CONNECTION'],
  ['the server stops reading in mid-DATA (deadline)', { midData: { afterBytes: 65536, action: 'stall' } }, 'big', 400, 'SMTP_TIMEOUT'],
  ['the server never answers DATA (deadline)', { replies: { DATA: 'silent' } }, 'server', 400, 'SMTP_TIMEOUT'],
  ['the caller aborts while DATA waits', { replies: { DATA: 'silent' } }, 'abort', undefined, 'ABORTED'],
  ['close() while DATA waits', { replies: { DATA: 'silent' } }, 'close', undefined, 'MAILER_CLOSED'],
];

describe('before the final dot: a plain failure, and the server has no message', () => {
  test.each(beforeDot)('%s', async (_name, script, trigger, deadlineMs, code) => {
    server = await startFaultServer(script);
    const mailer = createMailer(smtpSettings(server.port, { timeoutMs: 60_000 }));
    const controller = new AbortController();
    const lineSeen = (line: string) => server!.sessions.some((s) => s.lines.includes(line));
    const waitData = setInterval(() => {
      if (!lineSeen('DATA')) return;
      clearInterval(waitData);
      if (trigger === 'abort') controller.abort();
      if (trigger === 'close') mailer.close();
    }, 5);
    const attachments = trigger === 'big' ? [{ filename: 'big.bin', content: endless() }] : undefined;
    const err = await failure(
      mailer.send({ to: 'bob@example.com', subject: 'Relance', text: 'Bonjour', attachments }, { signal: controller.signal, deadlineMs: deadlineMs ?? 60_000 }),
    );
    clearInterval(waitData);
    mailer.close();
    expect(err.code).toBe(code);
    expect(err.deliveryUnknown).toBeUndefined();
    expect(server.sessions.flatMap((s) => s.messages)).toHaveLength(0);
  });
});

test('30 sends, the server resets every third connection after the dot: every message it has is reported sent or unknown', async () => {
  let dots = 0;
  // Read at each final dot: every third message gets no reply and a reset, the others 250.
  server = await startFaultServer({
    get afterDot() {
      return ++dots % 3 === 0 ? 'destroy' : '250 2.0.0 Ok: queued';
    },
  });
  const mailer = createMailer(smtpSettings(server.port, { timeoutMs: 60_000 }));
  const outcomes = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      mailer.send({ to: 'bob@example.com', subject: `n${i}`, text: 'x' }).then(
        () => 'sent',
        (e: MailError) => e.code,
      ),
    ),
  );
  mailer.close();
  expect(server.sessions.flatMap((s) => s.messages)).toHaveLength(30);
  expect(outcomes.filter((o) => o === 'sent')).toHaveLength(20);
  expect(outcomes.filter((o) => o === 'SMTP_DELIVERY_UNKNOWN')).toHaveLength(10);
});
