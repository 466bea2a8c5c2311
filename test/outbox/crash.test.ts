/**
 * The outbox under kill -9 and with two processes: other processes (the built library, as an
 * application runs it) queue into and flush one outbox; a real smtp-server counts what it gets.
 * Every Message-ID reaches the server exactly once, except entries held as unknown (at most once).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { createMailer } from '../../lib';
import { OutboxStore } from '../../lib/outbox/store';
import type { TestServer } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';
import { freePort, plainSmtpSettings, useServers } from '../helpers/outbox';

jest.setTimeout(120_000);

const CHILD = path.join(__dirname, 'fixtures', 'outbox-child.js');

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves when `ok(lines)` holds (checked at each line), or rejects if the child exits first. */
  until(ok: (lines: Record<string, unknown>[]) => boolean): Promise<void>;
  exited: Promise<number | null>;
}

function run(args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { ok: (l: typeof lines) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  let buffered = '';
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  proc.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
      for (const w of [...waiters]) if (w.ok(lines)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child exited (${code}) before the awaited point: ${stderr}`));
      resolve(code);
    }),
  );
  return {
    proc,
    lines,
    exited,
    until: (ok) => (ok(lines) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ ok, resolve, reject }))),
  };
}

async function kill9(c: Child): Promise<void> {
  c.proc.kill('SIGKILL');
  await c.exited;
}

/** Waits until the server has received `n` messages (checked as each one arrives). */
function receivedAtLeast(server: TestServer, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (server.received.length >= n ? resolve() : setTimeout(check, 2));
    check();
  });
}

const settings = (port: number) => plainSmtpSettings(port);
const serve = useServers();

test('kill -9 during enqueue, then during a flush of 200 entries, then flush again: each entry whole, each Message-ID at the server once (held ones at most once)', async () => {
  const port = await freePort();
  const dir = path.join(tempDir(), 'outbox');
  const store = new OutboxStore(dir);

  // Enqueue, killed twice at different points, then completed to 200 entries.
  for (const after of [3, 40]) {
    const c = run(['enqueue', dir, String(port), '0', '200']);
    await c.until((l) => l.length >= after);
    await kill9(c);
    const entries = await store.list();
    // Every reported queued message is a whole entry (bytes + metadata); at most one more (in flight).
    for (const line of c.lines) expect(entries.some((e) => e.id === line.id && e.messageId === line.messageId)).toBe(true);
    for (const e of entries) {
      const parsed = await simpleParser(readFileSync(store.messagePath(e.id)));
      expect(parsed.messageId).toBe(e.messageId);
      expect(parsed.text).toContain('body');
    }
  }
  const have = (await store.list()).length;
  const rest = run(['enqueue', dir, String(port), String(have), '200']);
  expect(await rest.exited).toBe(0);
  const all = await store.list();
  expect(all.length).toBeGreaterThanOrEqual(200);
  expect(all.every((e) => e.state === 'queued')).toBe(true);
  expect(new Set(all.map((e) => e.messageId)).size).toBe(all.length);

  // Flush, killed while sending.
  const server = await serve({ listenPort: port, clientsMayDie: true });
  const flusher = run(['flush', dir, String(port)]);
  await receivedAtLeast(server, 60);
  await kill9(flusher);
  const atKill = server.received.length;
  expect(atKill).toBeLessThan(all.length);

  // Flush again, in this process.
  const mailer = createMailer(settings(port), { outbox: { dir, background: false } });
  try {
    const report = await mailer.flush();
    expect(report.failed).toBe(0);
    const left = await store.list();
    const notHeld = left.filter((e) => e.state !== 'held');
    expect({
      notHeld: notHeld.map((e) => [e.state, ...e.attempts.map((a) => `${a.outcome} ${a.code ?? ''} ${a.message ?? ''}`)]),
      report: report.results.filter((r) => r.outcome !== 'sent'),
    }).toEqual({ notHeld: [], report: expect.anything() });
    // At most the entries in flight when it was killed (a flush sends 4 at a time).
    expect(left.length).toBeLessThanOrEqual(4);
    const counts = new Map<string, number>();
    for (const r of server.received) counts.set(r.parsed.messageId as string, (counts.get(r.parsed.messageId as string) ?? 0) + 1);
    const held = new Set(left.map((e) => e.messageId));
    for (const e of all) {
      if (held.has(e.messageId)) expect(counts.get(e.messageId) ?? 0).toBeLessThanOrEqual(1);
      else expect([e.messageId, counts.get(e.messageId)]).toEqual([e.messageId, 1]);
    }
    expect(server.received.length).toBe(all.length - left.filter((e) => !counts.has(e.messageId)).length);
    // A flush sends nothing more; the held entry waits for a person.
    expect(await mailer.flush()).toMatchObject({ tried: 0, sent: 0 });
    expect(readdirSync(path.join(dir, 'trash'))).toEqual([]);
  } finally {
    await mailer.close();
  }
});

test('two processes flushing the same outbox: no message sent twice', async () => {
  const port = await freePort();
  const dir = path.join(tempDir(), 'outbox');
  const queuer = createMailer(settings(port), { outbox: { dir, background: false } });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 80; i++) ids.push((await queuer.send({ to: 'bob@example.com', subject: `m${i}`, text: 'x' })).messageId as string);
  } finally {
    await queuer.close();
  }
  const server = await serve({ listenPort: port, clientsMayDie: true });
  const a = run(['flush', dir, String(port)]);
  const b = run(['flush', dir, String(port)]);
  expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  const reports = [a, b].map((c) => c.lines.find((l) => l.report)?.report as { sent: number; busy: number });
  expect(reports[0].sent + reports[1].sent).toBe(80);
  expect(server.received.map((r) => r.parsed.messageId).sort()).toEqual([...ids].sort());
  expect(await new OutboxStore(dir).list()).toEqual([]);
});
