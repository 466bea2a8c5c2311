// Runs oxymail's PUBLIC API (dist/) with Windows node.exe under Wine: each case creates a mailer
// from settings and sends a message (or, with listProfiles, lists the MAPI profiles).
// argv: <installed package> <result .json> <input .json>.
// A case may set environment variables first (the recording client reads them at each call),
// including OXYMAIL_MAPI_RECORD and TEMP (the case's own temp folder), and may send several
// messages at once (concurrency).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Readable } = require('stream');
const { scenario, applyEnv, pkg } = require('./common');
const oxymail = pkg();

/** Attachment streams not yet read to their end (or error). */
let openStreams = 0;

/** An attachment stream: chunks (text) with a delay before each, then an error if asked. */
function streamOf(a) {
  openStreams++;
  async function* chunks() {
    try {
      for (const chunk of a.streamChunks) {
        if (a.delayMs) await new Promise((resolve) => setTimeout(resolve, a.delayMs));
        yield Buffer.from(chunk);
      }
      if (a.streamError) throw new Error(a.streamError);
    } finally {
      openStreams--;
    }
  }
  return Readable.from(chunks());
}

/** Attachment streams that never end (`endless`), and what the case does when one is first read. */
let endless = [];
let onFirstRead;

/** A stream that gives one chunk and then neither data nor an end: only a signal or close() can end its send. */
function endlessStream() {
  let first = true;
  const stream = new Readable({
    read() {
      if (!first) return;
      first = false;
      this.push(Buffer.alloc(1024, 'a'));
      if (onFirstRead) onFirstRead();
    },
  });
  endless.push(stream);
  return stream;
}

function revive(message) {
  const m = { ...message };
  if (m.attachments) {
    m.attachments = m.attachments.map((a) => {
      if (a.contentBase64 !== undefined) return { content: Buffer.from(a.contentBase64, 'base64'), filename: a.filename };
      if (a.streamChunks !== undefined) return { content: streamOf(a), filename: a.filename };
      if (a.endless) return { content: endlessStream(), filename: a.filename };
      return a;
    });
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

/** { result } or { error }, and how many attachment streams were still being read when it settled. */
function outcome(promise) {
  return promise.then(
    (result) => ({ result, openStreams, endlessDestroyed: endless.map((s) => s.destroyed) }),
    (e) => ({
      error: { code: e.code, message: e.message, hint: e.hint, mapiCode: e.mapiCode, name: e.name },
      openStreams,
      endlessDestroyed: endless.map((s) => s.destroyed),
    }),
  );
}

/** Every file and folder under dir, relative, '/'-separated. */
function listTree(dir, prefix = '') {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    return e.isDirectory() ? [rel + '/', ...listTree(path.join(dir, e.name), rel + '/')] : [rel];
  });
}

/** Empties dir, retrying while a file in it is still held open (up to a minute); what is left. */
async function removeOnceFree(dir) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
      return [];
    } catch {
      if (Date.now() > deadline) return listTree(dir);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

scenario(async (_addon, input) => {
  const outcomes = [];
  for (const c of input.cases) {
    applyEnv(c.env);
    const rssBefore = process.resourceUsage().maxRSS;
    let ticks = 0;
    // A client told to wait for a file (OXYMAIL_MAPI_WAIT_FOR) gets it from this timer only: its sends
    // can finish only if the event loop kept running.
    const waitFor = process.env.OXYMAIL_MAPI_WAIT_FOR;
    const timer = setInterval(() => {
      if (++ticks === c.releaseAfterTicks && waitFor) fs.writeFileSync(waitFor, '');
    }, 100);
    let sent;
    if (c.listProfiles) {
      sent = [await outcome(oxymail.listProfiles())];
    } else {
      const mailer = oxymail.createMailer(c.settings, c.mailerOptions || {});
      const messages = c.messages || [c.message];
      // endOnFirstRead: 'abort' (the send's AbortSignal) or 'close' (mailer.close()) once an endless stream is read.
      endless = [];
      const controller = new AbortController();
      const options = reviveOptions(c.sendOptions);
      if (c.endOnFirstRead === 'abort') options.signal = controller.signal;
      onFirstRead = c.endOnFirstRead && (() => (c.endOnFirstRead === 'abort' ? controller.abort() : mailer.close()));
      sent = await Promise.all(messages.map((m) => outcome(mailer.send(revive(m), options))));
      onFirstRead = undefined;
      mailer.close();
    }
    clearInterval(timer);
    // Lifetime peak, in KiB: sampling would miss a short spike, maxRSS does not.
    const peakGrowthKiB = process.resourceUsage().maxRSS - rssBefore;
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
    const tempLeft = listTree(os.tmpdir());
    // A client told to hold the copies open (OXYMAIL_MAPI_HOLD_UNTIL) lets go once everything above
    // is seen; what it left must then be removable: the hold, nothing else, kept it.
    const release = process.env.OXYMAIL_MAPI_HOLD_UNTIL;
    let tempLeftAfterRelease;
    if (release) {
      fs.writeFileSync(release, '');
      tempLeftAfterRelease = await removeOnceFree(os.tmpdir());
    }
    outcomes.push({ name: c.name, sent, ticks, tempCopies, leftovers, tempLeft, tempLeftAfterRelease, peakGrowthKiB });
  }
  return { outcomes };
});
