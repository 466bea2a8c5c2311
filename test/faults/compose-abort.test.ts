/**
 * Composing is part of a send: an attachment stream that never ends is ended by the send's overall
 * deadline, the caller's AbortSignal and mailer.close(), with the codes those give elsewhere
 * (SMTP_TIMEOUT, ABORTED, MAILER_CLOSED). Nothing reaches the real smtp-server on loopback (not
 * even a connection), the caller's stream is destroyed and no compose temp file is left behind.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createMailer } from '../../lib';
import { relaySettings, startServer, smtpSettings, TestServer } from '../helpers/server';
import { mailFailure as failure } from '../helpers/fixtures';

let server: TestServer;
let connections: number;
let transactions: number;
let tmp: string;
const savedTmp = process.env.TMPDIR;

beforeEach(async () => {
  connections = 0;
  transactions = 0;
  server = await startServer({
    onConnect(_session, cb) {
      connections++;
      cb();
    },
    onMailFrom(_address, _session, cb) {
      transactions++;
      cb();
    },
  });
  // Compose temp files go to the system temp folder when there is no outbox: a private one here.
  tmp = mkdtempSync(path.join(os.tmpdir(), 'oxymail-compose-abort-'));
  process.env.TMPDIR = tmp;
});
afterEach(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await server.close();
});

/** An attachment stream that gives one chunk and then never ends; `read` resolves once composing reads it. */
function endless(): { stream: Readable; read: Promise<void> } {
  let started!: () => void;
  const read = new Promise<void>((resolve) => (started = resolve));
  let first = true;
  const stream = new Readable({
    read() {
      if (first) {
        first = false;
        this.push(Buffer.alloc(64 * 1024, 'a'));
        started();
      }
    },
  });
  return { stream, read };
}

const message = (stream: Readable) => ({
  to: 'bob@example.com',
  subject: 'Facture',
  text: 'Ci-joint.',
  attachments: [{ filename: 'facture.pdf', content: stream }],
});

const relay = relaySettings;

function expectNothingLeft(stream: Readable): void {
  expect(connections).toBe(0);
  expect(transactions).toBe(0);
  expect(server.received).toHaveLength(0);
  expect(stream.destroyed).toBe(true);
  expect(readdirSync(tmp)).toEqual([]);
}

describe.each([
  ['smtp', () => createMailer(smtpSettings(server.port))],
  ['managed', () => createMailer({ label: 'Alice', email: 'alice@client.example' }, { managed: relay(server.port) })],
] as const)('%s: composing a never-ending attachment stream', (protocol, make) => {
  test('ends at the overall deadline: SMTP_TIMEOUT, nothing sent, stream destroyed, no temp file', async () => {
    const mailer = make();
    const { stream, read } = endless();
    const sending = mailer.send(message(stream), { deadlineMs: 300 });
    await read;
    const err = await failure(sending);
    expect(err.code).toBe('SMTP_TIMEOUT');
    expect(err.protocol).toBe(protocol);
    expect(err.message).toMatch(/300 ms/);
    expectNothingLeft(stream);
    await mailer.close();
  });

  test("ends at the caller's AbortSignal: ABORTED", async () => {
    const mailer = make();
    const { stream, read } = endless();
    const controller = new AbortController();
    const sending = mailer.send(message(stream), { signal: controller.signal });
    await read;
    controller.abort();
    const err = await failure(sending);
    expect(err.code).toBe('ABORTED');
    expectNothingLeft(stream);
    await mailer.close();
  });

  test('ends at mailer.close(): MAILER_CLOSED', async () => {
    const mailer = make();
    const { stream, read } = endless();
    const sending = mailer.send(message(stream));
    await read;
    await mailer.close();
    const err = await failure(sending);
    expect(err.code).toBe('MAILER_CLOSED');
    expectNothingLeft(stream);
  });
});

test('with an outbox: a deadline while composing queues nothing (there are no bytes to queue) and leaves its tmp folder empty', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oxymail-compose-outbox-'));
  const mailer = createMailer(smtpSettings(server.port), { outbox: { dir, background: false } });
  const { stream, read } = endless();
  const sending = mailer.send(message(stream), { deadlineMs: 300 });
  await read;
  const err = await failure(sending);
  expect(err.code).toBe('SMTP_TIMEOUT');
  expect(await mailer.outboxEntries()).toEqual([]);
  expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  expectNothingLeft(stream);
  await mailer.close();
});

test('a stream attachment that ends is still sent whole after these (the same mailer, nothing left over)', async () => {
  const mailer = createMailer(smtpSettings(server.port));
  const { stream, read } = endless();
  const controller = new AbortController();
  const aborted = mailer.send(message(stream), { signal: controller.signal });
  await read;
  controller.abort();
  expect((await failure(aborted)).code).toBe('ABORTED');
  const result = await mailer.send(message(Readable.from([Buffer.from('%PDF-1.4 facture')])));
  await mailer.close();
  expect(result.accepted).toEqual(['bob@example.com']);
  expect(server.received).toHaveLength(1);
  expect(server.received[0].parsed.attachments[0].content.toString()).toBe('%PDF-1.4 facture');
  expect(readdirSync(tmp)).toEqual([]);
});
