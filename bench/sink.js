/**
 * What the benches share: the local sink they send to (Postfix's smtp-sink, else smtp-server in a
 * child process: in its own process either way, so it does not share the measured process's CPU),
 * the settings and the invoice-like message they send, and their small helpers.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SINK = '/usr/sbin/smtp-sink';

/** `--name value` from the command line, as a number, else `def`. */
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A loopback port nothing listens on (the sink's, or a server that is down). */
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

/** Starts the sink on a free loopback port: { port, name, stop() }. */
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

/** Settings of a mailer sending to the sink (or to any loopback port) in clear. */
const sinkSettings = (port) => ({
  email: 'helene@example.com',
  label: 'Hélène',
  customize: true,
  protocol: 'smtp',
  smtp: { host: '127.0.0.1', port, security: 'none' },
});

/** Message number i: an invoice notice to one of 50 recipients. */
const message = (i) => ({
  to: `rcpt${i % 50}@example.com`,
  subject: `Facture n° ${i}`,
  text: 'Bonjour,\n\nVeuillez trouver ci-joint votre facture.\n\nCordialement,\nHélène\n'.repeat(8),
});

module.exports = { arg, median, freePort, startSink, sinkSettings, message };
