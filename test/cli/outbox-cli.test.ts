/**
 * `oxymail send` with an outbox and `oxymail outbox ...`: the real binary, a real smtp-server.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { createMailer } from '../../lib';
import { userOutboxDir } from '../../lib/outbox/paths';
import { openSettingsStore } from '../../lib/store/store';
import { tempDir } from '../helpers/fixtures';
import { freePort, plainSmtpSettings, useServers } from '../helpers/outbox';

jest.setTimeout(60_000);

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const serve = useServers();

test('send --user with outbox: true queues when the server is down (--json: queued and the Message-ID); outbox list, show, flush with progress', async () => {
  const port = await freePort();
  const storePath = path.join(tempDir(), 'users.json');
  const env = { OXYMAIL_SETTINGS: storePath };
  await openSettingsStore(storePath).set('alice', plainSmtpSettings(port, { outbox: true }));
  const sent = await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Relance', '--text', 'x', '--json'], env);
  expect(sent.code).toBe(0);
  const result = JSON.parse(sent.stdout);
  expect(result).toMatchObject({ queued: true, messageId: expect.stringMatching(/^<.+>$/), outboxId: expect.any(String) });
  expect(result.warnings[0].code).toBe('MESSAGE_QUEUED');

  const human = await run(['send', '--user', 'alice', '--to', 'carol@example.com', '--subject', 'Deux', '--text', 'x'], env);
  expect(human.stdout).toMatch(/Not sent yet: queued in the outbox as \S+/);

  const list = await run(['outbox', 'list', '--user', 'alice', '--json'], env);
  const entries = JSON.parse(list.stdout);
  expect(entries.map((e: { messageId: string; state: string }) => e.state)).toEqual(['queued', 'queued']);
  expect(entries[0].messageId).toBe(result.messageId);
  const text = await run(['outbox', 'list', '--user', 'alice'], env);
  expect(text.stdout).toContain(result.outboxId);
  expect(text.stdout).toMatch(/queued .* Relance/);

  const show = await run(['outbox', 'show', result.messageId, '--user', 'alice'], env);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/transient\s+SMTP_CONNECTION/);

  const server = await serve({ listenPort: port });
  const flush = await run(['outbox', 'flush', '--user', 'alice'], env);
  expect(flush.code).toBe(0);
  expect(flush.stderr).toMatch(/\[1\/2\] \S+ <.+>: sent\n\[2\/2\] \S+ <.+>: sent/);
  expect(flush.stdout).toMatch(/Flushed: 2 sent/);
  // Sent 4 at a time: in any order, each once.
  expect(server.received.map((r) => r.parsed.messageId).sort()).toEqual([result.messageId, entries[1].messageId].sort());
  expect(JSON.parse((await run(['outbox', 'list', '--user', 'alice', '--json'], env)).stdout)).toEqual([]);
  expect((await run(['outbox', 'flush'], env)).code).toBe(2);
});

test('retry ID sends a failed entry now; remove ID drops one; an unknown id is OUTBOX_NOT_FOUND', async () => {
  const port = await freePort();
  const storePath = path.join(tempDir(), 'users.json');
  const env = { OXYMAIL_SETTINGS: storePath };
  const settings = plainSmtpSettings(port);
  await openSettingsStore(storePath).set('alice', settings);
  const dir = userOutboxDir(storePath, 'alice');
  const mailer = createMailer(settings, { outbox: { dir, background: false, maxAgeMs: 1 } });
  const a = await mailer.send({ to: 'bob@example.com', subject: 'a', text: 'x' });
  const b = await mailer.send({ to: 'bob@example.com', subject: 'b', text: 'x' });
  await new Promise((r) => setTimeout(r, 5));
  await mailer.flush();
  await mailer.close();
  const failed = JSON.parse((await run(['outbox', 'list', '--user', 'alice', '--json'], env)).stdout);
  expect(failed.map((e: { state: string }) => e.state)).toEqual(['failed', 'failed']);

  const server = await serve({ listenPort: port });
  const retry = await run(['outbox', 'retry', a.outboxId as string, '--user', 'alice', '--json'], env);
  expect(retry.code).toBe(0);
  expect(JSON.parse(retry.stdout)).toMatchObject({ sent: 1 });
  expect(server.received.map((r) => r.parsed.messageId)).toEqual([a.messageId]);

  const removed = await run(['outbox', 'remove', b.outboxId as string, '--user', 'alice', '--json'], env);
  expect(JSON.parse(removed.stdout)).toEqual({ removed: b.outboxId, messageId: b.messageId });
  const missing = await run(['outbox', 'show', 'nope-000000', '--user', 'alice', '--json'], env);
  expect(missing.code).toBe(1);
  expect(JSON.parse(missing.stdout).error.code).toBe('OUTBOX_NOT_FOUND');
  expect(server.received).toHaveLength(1);
});
