#!/usr/bin/env node
/**
 * The outbox's cost, measured side by side in one run: the time to queue N messages (server
 * down: each one composed, fsynced and renamed into the outbox) and flush them to a local sink,
 * against sending the same N messages directly to that sink. Prints both and the ratio.
 * Usage: npm run bench:outbox [-- --messages 500 --rounds 3]
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { createMailer } = require('../dist');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('messages', 500);
const ROUNDS = arg('rounds', 3);
const SINK = '/usr/sbin/smtp-sink';

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sink did not start on ${port}`);
}

async function startSink() {
  const port = await freePort();
  let proc;
  if (fs.existsSync(SINK)) {
    proc = spawn(SINK, ['-u', process.getuid && process.getuid() === 0 ? 'root' : os.userInfo().username, `127.0.0.1:${port}`, '256'], { stdio: 'ignore' });
  } else {
    const code = `const {SMTPServer}=require('smtp-server');new SMTPServer({authOptional:true,disabledCommands:['STARTTLS'],logger:false,onData(s,_,cb){s.on('data',()=>{});s.on('end',()=>cb())}}).listen(${port},'127.0.0.1')`;
    proc = spawn(process.execPath, ['-e', code], { stdio: 'ignore', cwd: path.join(__dirname, '..') });
  }
  await waitForPort(port);
  return { port, name: fs.existsSync(SINK) ? 'Postfix smtp-sink' : 'smtp-server (child process)', stop: () => proc.kill() };
}

const settings = (port) => ({
  email: 'helene@example.com',
  label: 'Hélène',
  customize: true,
  protocol: 'smtp',
  smtp: { host: '127.0.0.1', port, security: 'none' },
});
const message = (i) => ({
  to: `rcpt${i % 50}@example.com`,
  subject: `Facture n° ${i}`,
  text: 'Bonjour,\n\nVeuillez trouver ci-joint votre facture.\n\nCordialement,\nHélène\n'.repeat(8),
});
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function direct(port) {
  const mailer = createMailer(settings(port));
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, i) => mailer.send(message(i))));
  const t = ms(t0);
  await mailer.close();
  return t;
}

async function queued(port, down) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-bench-outbox-'));
  const queuer = createMailer(settings(down), { outbox: { dir, background: false } });
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: N }, (_, i) => queuer.send(message(i))));
  const queue = ms(t0);
  await queuer.close();
  if (!results.every((r) => r.queued)) throw new Error('not every message was queued');
  const flusher = createMailer(settings(port), { outbox: { dir, background: false } });
  const t1 = process.hrtime.bigint();
  const report = await flusher.flush();
  const flush = ms(t1);
  await flusher.close();
  if (report.sent !== N) throw new Error(`flushed ${report.sent} of ${N}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { queue, flush, total: queue + flush };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const sink = await startSink();
  const down = await freePort();
  try {
    await direct(sink.port); // warm-up
    const d = [];
    const q = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        d.push(await direct(sink.port));
        q.push(await queued(sink.port, down));
      } else {
        q.push(await queued(sink.port, down));
        d.push(await direct(sink.port));
      }
    }
    const qt = median(q.map((x) => x.total));
    console.log(`outbox: ${N} messages x ${ROUNDS} rounds, sink: ${sink.name}, outbox on ${os.tmpdir()}`);
    console.log(`  direct send         median ${median(d).toFixed(0)} ms  runs ${d.map((t) => t.toFixed(0)).join(' ')}`);
    console.log(
      `  queue + flush       median ${qt.toFixed(0)} ms  (queue ${median(q.map((x) => x.queue)).toFixed(0)} ms, flush ${median(q.map((x) => x.flush)).toFixed(0)} ms)  runs ${q.map((x) => x.total.toFixed(0)).join(' ')}`,
    );
    console.log(`  ratio (queue+flush)/direct: ${(qt / median(d)).toFixed(2)}`);
  } finally {
    sink.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
