#!/usr/bin/env node
/**
 * Benchmarks, measured side by side in one run (never by timed tests):
 *  1. the same N pooled messages through oxymail and through raw nodemailer against the same
 *     local sink, alternating runs; prints the oxymail/nodemailer time ratio (target <= 1.05);
 *  2. one send of a 200 MB attachment file; prints the peak RSS growth (target < 64 MB);
 *  3. the start-up cost of require('oxymail') against a bare node -e 0 (bench/require.js; target <= 1.2).
 * Usage: npm run bench [-- --messages 2000 --rounds 10 --attachment-mb 200]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const nodemailer = require('nodemailer');
const { createMailer } = require('../dist');
const { poolOptions } = require('../dist/transports/smtp');
const { requireBench } = require('./require');
const { arg, median, message, sinkSettings, startSink } = require('./sink');

const N = arg('messages', 2000);
const ROUNDS = arg('rounds', 10);
const ATTACHMENT_MB = arg('attachment-mb', 200);

async function runOxymail(port) {
  const mailer = createMailer(sinkSettings(port));
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, i) => mailer.send(message(i))));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  mailer.close();
  return ms;
}

async function runNodemailer(port) {
  // The same pool settings oxymail derives from these settings: only oxymail's own work differs.
  const transport = nodemailer.createTransport(poolOptions({ host: '127.0.0.1', port, security: 'none' }));
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: N }, (_, i) => transport.sendMail({ from: { name: 'Hélène', address: 'helene@example.com' }, ...message(i) })));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  transport.close();
  return ms;
}

async function throughput(sink) {
  await runOxymail(sink.port); // warm-up, not counted
  await runNodemailer(sink.port);
  const ox = [];
  const nm = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first so drift (caches, the sink's state) hits both alike.
    if (r % 2 === 0) {
      ox.push(await runOxymail(sink.port));
      nm.push(await runNodemailer(sink.port));
    } else {
      nm.push(await runNodemailer(sink.port));
      ox.push(await runOxymail(sink.port));
    }
  }
  const ratios = ox.map((t, i) => t / nm[i]);
  console.log(`throughput: ${N} messages x ${ROUNDS} rounds, pooled (5 connections), sink: ${sink.name}`);
  console.log(
    `  oxymail    median ${median(ox).toFixed(0)} ms  (${((N / median(ox)) * 1000).toFixed(0)} msg/s)  runs ${ox.map((t) => t.toFixed(0)).join(' ')}`,
  );
  console.log(
    `  nodemailer median ${median(nm).toFixed(0)} ms  (${((N / median(nm)) * 1000).toFixed(0)} msg/s)  runs ${nm.map((t) => t.toFixed(0)).join(' ')}`,
  );
  console.log(`  oxymail/nodemailer time ratio: ${median(ratios).toFixed(3)} (median of per-round ratios; target <= 1.05)`);
}

async function bigAttachment(sink) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-bench-'));
  const file = path.join(dir, 'archive-200mo.bin');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < ATTACHMENT_MB; i++) {
    block.fill(i & 0xff);
    fs.writeSync(fd, block);
  }
  fs.closeSync(fd);
  // The lifetime peak (maxRSS) catches a spike that sampling would miss; this runs first, so the
  // peak before it is the process's start-up footprint.
  const base = process.resourceUsage().maxRSS * 1024;
  const mailer = createMailer({
    email: 'helene@example.com',
    customize: true,
    protocol: 'smtp',
    smtp: { host: '127.0.0.1', port: sink.port, security: 'none' },
  });
  const t0 = Date.now();
  await mailer.send({ to: 'bob@example.com', subject: 'archive', text: 'ci-joint', attachments: [{ path: file }] });
  const ms = Date.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  mailer.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const growth = (peak - base) / (1 << 20);
  console.log(`attachment: one ${ATTACHMENT_MB} MB file in ${(ms / 1000).toFixed(1)} s; peak RSS growth ${growth.toFixed(1)} MB (target < 64 MB)`);
}

(async () => {
  const sink = await startSink();
  try {
    console.log(`node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0].model}`);
    await bigAttachment(sink);
    await throughput(sink);
    requireBench(20);
  } finally {
    sink.stop();
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
