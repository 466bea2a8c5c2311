// Runs oxymail's PUBLIC API (dist/) with Windows node.exe under Wine: each case creates a mailer
// from settings and sends a message. argv: <unused addon path> <result .json> <input .json>.
// A case may set environment variables first (the recording client reads them at each call),
// including OXYMAIL_MAPI_RECORD, and may send several messages at once (concurrency).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { scenario, applyEnv } = require('./common');
const oxymail = require(path.join(__dirname, '..', '..', '..', 'dist'));

function revive(message) {
  const m = { ...message };
  if (m.attachments) {
    m.attachments = m.attachments.map((a) => (a.contentBase64 !== undefined ? { content: Buffer.from(a.contentBase64, 'base64'), filename: a.filename } : a));
  }
  return m;
}

function reviveOptions(options = {}) {
  const o = { ...options };
  if (typeof o.parentWindow === 'string') o.parentWindow = BigInt(o.parentWindow);
  if (Array.isArray(o.parentWindowBytes)) {
    o.parentWindow = Buffer.from(o.parentWindowBytes);
    delete o.parentWindowBytes;
  }
  return o;
}

function outcome(promise) {
  return promise.then(
    (result) => ({ result }),
    (e) => ({ error: { code: e.code, message: e.message, hint: e.hint, mapiCode: e.mapiCode, name: e.name } }),
  );
}

scenario(async (_addon, input) => {
  const outcomes = [];
  for (const c of input.cases) {
    applyEnv(c.env);
    const mailer = oxymail.createMailer(c.settings, c.mailerOptions || {});
    const messages = c.messages || [c.message];
    const rssBefore = process.resourceUsage().maxRSS;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 100);
    const sent = await Promise.all(messages.map((m) => outcome(mailer.send(revive(m), reviveOptions(c.sendOptions)))));
    clearInterval(timer);
    // Lifetime peak, in KiB: sampling would miss a short spike, maxRSS does not.
    const peakGrowthKiB = process.resourceUsage().maxRSS - rssBefore;
    mailer.close();
    // Temp copies of in-memory attachments must be gone once send() has settled.
    const record = process.env.OXYMAIL_MAPI_RECORD;
    const leftovers = [];
    let tempCopies = 0;
    if (record && fs.existsSync(record)) {
      for (const line of fs.readFileSync(record, 'utf8').split('\n').filter(Boolean)) {
        for (const a of JSON.parse(line).attachments || []) {
          if (typeof a.path !== 'string' || !a.path.toLowerCase().startsWith(os.tmpdir().toLowerCase())) continue;
          tempCopies++;
          if (fs.existsSync(a.path)) leftovers.push(a.path);
        }
      }
    }
    outcomes.push({ name: c.name, sent, ticks, tempCopies, leftovers, peakGrowthKiB });
  }
  return { outcomes };
});
