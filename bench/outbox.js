#!/usr/bin/env node
/**
 * The outbox's cost, measured side by side in one run: the time to queue N messages (server
 * down: each one composed, fsynced and renamed into the outbox) and flush them to a local sink,
 * against sending the same N messages directly to that sink. Prints both and the ratio.
 * Usage: npm run bench:outbox [-- --messages 500 --rounds 3]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createMailer } = require('../dist');
const { arg, freePort, median, message, sinkSettings, startSink } = require('./sink');

const N = arg('messages', 500);
const ROUNDS = arg('rounds', 3);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function direct(port) {
  const mailer = createMailer(sinkSettings(port));
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, i) => mailer.send(message(i))));
  const t = ms(t0);
  await mailer.close();
  return t;
}

async function queued(port, down) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-bench-outbox-'));
  const queuer = createMailer(sinkSettings(down), { outbox: { dir, background: false } });
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: N }, (_, i) => queuer.send(message(i))));
  const queue = ms(t0);
  await queuer.close();
  if (!results.every((r) => r.queued)) throw new Error('not every message was queued');
  const flusher = createMailer(sinkSettings(port), { outbox: { dir, background: false } });
  const t1 = process.hrtime.bigint();
  const report = await flusher.flush();
  const flush = ms(t1);
  await flusher.close();
  if (report.sent !== N) throw new Error(`flushed ${report.sent} of ${N}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { queue, flush, total: queue + flush };
}

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
