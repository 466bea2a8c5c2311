/**
 * One transport shape: the message is composed once (in memory, or streamed into a temp file when
 * it has attachments), and the SMTP transport sends exactly those bytes with their envelope, so a
 * replay is byte-for-byte the first attempt. Asserted on what a real smtp-server received.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { createMailer, validateMessage } from '../../lib';
import { composeMail, composeMessage, openComposed } from '../../lib/transports/compose';
import { SmtpTransport } from '../../lib/transports/smtp';
import { startServer, smtpSettings, testCert, TestServer } from '../helpers/server';
import { tempDir, writeFixture } from '../helpers/fixtures';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const identity = { from: { name: 'Alice', address: 'alice@example.com' }, receiptsTo: 'alice@example.com' };
const eff = { importance: undefined, readReceipt: false, deliveryReceipt: false as const };

test('a message with a file attachment is streamed into a temp file under the given folder; the server gets exactly those bytes, twice the same', async () => {
  const dir = tempDir();
  const big = writeFixture(dir, 'relevé.bin', Buffer.alloc(3 * 1024 * 1024, 0x41));
  const msg = await validateMessage({ to: 'bob@example.com', bcc: 'audit@example.com', subject: 'Relevé', text: 'Bonjour', attachments: [{ path: big }] });
  const spool = path.join(dir, 'spool');
  const composed = await composeMessage(composeMail(msg, identity, eff, new Set()), spool);
  expect(composed.buffer).toBeUndefined();
  expect(path.dirname(path.dirname(composed.path as string))).toBe(spool);
  expect(composed.envelope).toEqual({ from: 'alice@example.com', to: ['bob@example.com', 'audit@example.com'] });
  const onDisk = await bytes(openComposed(composed));
  expect(onDisk.length).toBe(composed.size);
  expect(onDisk.toString('latin1')).not.toMatch(/^Bcc:/im);

  const transport = new SmtpTransport({ host: '127.0.0.1', port: server.port, security: 'auto', tls: { ca: testCert().cert } }, 'smtp');
  const job = { protocol: 'smtp' as const, effective: eff, dropped: new Set<never>(), compose: async () => composed };
  try {
    const first = await transport.send(job);
    const second = await transport.send(job);
    expect(first.messageId).toBe(composed.messageId);
    expect(second.messageId).toBe(composed.messageId);
    expect(first.raw).toBe(composed);
  } finally {
    transport.close();
  }
  expect(server.received).toHaveLength(2);
  for (const r of server.received) {
    expect(r.raw.equals(onDisk)).toBe(true);
    expect(r.rcptTo.map((x) => x.address)).toEqual(['bob@example.com', 'audit@example.com']);
    expect(r.parsed.messageId).toBe(composed.messageId);
  }
  await composed.dispose();
  expect(readdirSync(spool)).toEqual([]);
});

test('mailer.send: the Message-ID reported is the one received, DSN parameters travel on the envelope, and no temp file stays behind', async () => {
  const dir = tempDir();
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  const mailer = createMailer(smtpSettings(server.port));
  try {
    const att = writeFixture(dir, 'a.txt', 'pièce jointe');
    const result = await mailer.send({
      to: 'bob@example.com',
      subject: 's',
      text: 'x',
      attachments: [{ path: att }],
      deliveryReceipt: { notify: ['success', 'failure'], ret: 'headers', envelopeId: 'ENV123' },
    });
    expect(result.messageId).toBe(server.received[0].parsed.messageId);
    expect(server.received[0].envelopeDsn).toMatchObject({ ret: 'HDRS', envid: 'ENV123' });
    expect(server.received[0].rcptTo[0].dsn?.notify).toEqual(['SUCCESS', 'FAILURE']);
    expect(readdirSync(dir).sort()).toEqual(['a.txt']);
  } finally {
    mailer.close();
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
});
