/**
 * The outbox and the copy in Sent in the mailer's locale, against a real smtp-server on loopback
 * (refusing with 4xx, then 5xx) and a real refused IMAP connection: the MESSAGE_QUEUED and
 * SENT_COPY_FAILED warnings, flush() results and errors, outboxEntries() reasons and attempt
 * messages, and the outbox events (on() and events()) in French for a mailer made with
 * `{ locale: 'fr' }`, in English for its neighbour made with `{ locale: 'en' }`; codes unchanged.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMailer, MailError } from '../../lib';
import type { OutboxEvent } from '../../lib/outbox/outbox';
import { tempDir } from '../helpers/fixtures';
import { freePort, plainSmtpSettings, useServers } from '../helpers/outbox';

jest.setTimeout(60_000);

const settings = (port: number, extra: Record<string, unknown> = {}) => plainSmtpSettings(port, { label: 'Alice Martin', ...extra });

const reply = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

const serve = useServers();

test("locale 'fr': a 451 queues the message with a French MESSAGE_QUEUED; a 550 at the flush: French results, events, reasons and history; 'en' beside it in English", async () => {
  let answer = reply(451, '4.3.0 Try again later');
  const server = await serve({ onMailFrom: (_a, _s, cb) => cb(answer) });
  const dir = path.join(tempDir(), 'ob');
  const fr = createMailer(settings(server.port), { locale: 'fr', outbox: { dir, background: false } });
  const en = createMailer(settings(server.port), { locale: 'en', outbox: { dir, background: false } });
  const events: OutboxEvent[] = [];
  const onFailed = (e: OutboxEvent) => events.push(e);
  fr.on('queued', (e) => events.push(e)).on('failed', onFailed);
  const stop = new AbortController();
  const iterated: OutboxEvent[] = [];
  const iterating = (async () => {
    for await (const e of fr.events(stop.signal)) iterated.push(e);
  })();
  try {
    const queued = await fr.send({ to: 'bob@example.com', subject: 'Facture n° 12', text: 'Bonjour' });
    const english = await en.send({ to: 'bob@example.com', subject: 'Invoice 12', text: 'Hello' });
    expect(queued).toMatchObject({ queued: true, accepted: [] });
    expect(queued.warnings.map((w) => w.code)).toEqual(['MESSAGE_QUEUED']);
    expect(english.warnings.map((w) => w.code)).toEqual(['MESSAGE_QUEUED']);
    const enWarning = english.warnings[0].message;
    const m = /^not sent yet \((\w+) 451: (.+)\): kept in the outbox as (\S+), next try (\S+)$/.exec(enWarning);
    expect(m).not.toBeNull();
    const [, code, enError] = m as RegExpExecArray;
    expect(enError).toContain('Try again later');
    // The same failure in French: the code and the server's reply as they are, the rest in French.
    const frWarning = queued.warnings[0].message;
    expect(frWarning).toMatch(
      new RegExp(`^pas encore envoyé \\(${code} 451 : .+\\) : gardé dans la boîte d'envoi sous ${queued.outboxId}, prochain essai \\S+$`),
    );
    expect(frWarning).toContain('Try again later');
    expect(frWarning).not.toContain(enError);
    expect(server.received).toEqual([]);

    answer = reply(550, '5.7.1 Sender rejected by policy');
    const report = await fr.flush();
    expect(report).toMatchObject({ tried: 2, failed: 2, sent: 0 });
    const results = new Map(report.results.map((r) => [r.id, r]));
    const frResult = results.get(queued.outboxId as string);
    const enResult = results.get(english.outboxId as string);
    expect(frResult?.outcome).toBe('failed');
    expect(frResult?.error).toMatchObject({ code: expect.any(String), responseCode: 550 });
    // Both entries failed in the French mailer's flush: both results in French.
    expect(enResult?.error?.message).toBe(frResult?.error?.message);
    const enFlush = await en.flush();
    expect(enFlush).toMatchObject({ tried: 0 });

    const entries = await fr.outboxEntries();
    expect(entries.map((e) => e.state)).toEqual(['failed', 'failed']);
    const frEntry = entries.find((e) => e.id === queued.outboxId);
    expect(frEntry?.reason).toMatch(/^refusé définitivement \(550\) : .*Sender rejected by policy/);
    expect(frEntry?.attempts.map((a) => a.outcome)).toEqual(['transient', 'permanent']);
    const [first, last] = frEntry?.attempts ?? [];
    expect(first).toMatchObject({ code, responseCode: 451 });
    const enEntry = (await en.outboxEntries()).find((e) => e.id === queued.outboxId);
    expect(enEntry?.reason).toMatch(/^refused for good \(550\): .*Sender rejected by policy/);
    expect(enEntry?.attempts[0].message).toBe(enError);
    expect(first.message).not.toBe(enError);
    expect(first.message).toContain('Try again later');
    expect(last.message).not.toBe(enEntry?.attempts[1].message);
    expect(frEntry?.reason).toContain(last.message);
    expect(frResult?.error?.message).toBe(last.message);

    // The events, through on() and events(): the entry and the error in French, the codes as they are.
    await new Promise((r) => setImmediate(r));
    for (const list of [events, iterated]) {
      expect(list.map((e) => e.type)).toEqual(['queued', 'failed', 'failed']);
      const failed = list.find((e) => e.type === 'failed' && e.entry.id === queued.outboxId) as OutboxEvent;
      expect(failed.entry.reason).toBe(frEntry?.reason);
      expect(failed.error).toBeInstanceOf(MailError);
      expect(failed.error?.message).toBe(last.message);
      expect(failed.error?.responseCode).toBe(550);
    }
    expect(events[0].error?.message).toBe(first.message);

    // What entry.json holds: the Text beside the string, so any reader shows it in its own language.
    const stored = JSON.parse(readFileSync(path.join(dir, 'entries', queued.outboxId as string, 'entry.json'), 'utf8'));
    expect(stored.reasonText).toMatchObject({ key: 'outbox.reason.refusedReply', params: { responseCode: 550 } });
    expect(stored.attempts[0].messageText).toMatchObject({ key: expect.any(String) });

    // off() takes the listener it was given.
    fr.off('failed', onFailed);
    await fr.outboxEntries();
  } finally {
    stop.abort();
    await iterating;
    await fr.close();
    await en.close();
  }
});

test("locale 'fr': flush() without an outbox and wrong outbox options throw in French, codes unchanged", async () => {
  const port = await freePort();
  const without = createMailer(settings(port), { locale: 'fr' });
  const err = (await without.flush().catch((e) => e)) as MailError;
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe('OUTBOX_DISABLED');
  expect(err.message).toBe("flush : ce mailer n'a pas de boîte d'envoi");
  expect(err.hint).toBe("Créez le mailer avec { outbox: true }, ou mettez outbox: true dans les paramètres d'envoi de l'utilisateur.");
  expect(await without.outboxEntries()).toEqual([]);
  await without.close();
  const english = (await createMailer(settings(port), { locale: 'en' })
    .flush()
    .catch((e) => e)) as MailError;
  expect(english).toMatchObject({ code: 'OUTBOX_DISABLED', message: 'flush: this mailer has no outbox' });

  expect(() => createMailer(settings(port), { locale: 'fr', outbox: { dir: tempDir(), firstRetryMs: -1 } })).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTION', message: 'createMailer : options.outbox.firstRetryMs doit être un nombre positif de millisecondes' }),
  );
  expect(() => createMailer(settings(port), { locale: 'fr', outbox: 'yes' as unknown as boolean })).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTION', message: 'createMailer : options.outbox doit valoir true, false ou { dir, ... }' }),
  );
  // Settings of the copy in Sent, checked in the mailer's language.
  expect(() => createMailer(settings(port, { sentCopy: 'imap' }), { locale: 'fr' })).toThrow(
    expect.objectContaining({ code: 'INVALID_SETTINGS', message: expect.stringContaining("imap.host : est obligatoire quand sentCopy vaut 'imap'") }),
  );
});

test("locale 'fr': the IMAP server refuses the connection: the message is delivered, SENT_COPY_FAILED in French, kept for the copy; the flush retries it (copy-failed, in French)", async () => {
  const server = await serve();
  const imapPort = await freePort();
  const dir = path.join(tempDir(), 'ob');
  const imap = { host: '127.0.0.1', port: imapPort, security: 'none', username: 'alice', password: 'S3cret-imap' };
  const fr = createMailer(settings(server.port, { imap }), { locale: 'fr', outbox: { dir, background: false } });
  try {
    const r = await fr.send({ to: 'bob@example.com', subject: 'Facture', text: 'Bonjour' });
    expect(server.received.map((x) => x.parsed.messageId)).toEqual([r.messageId]);
    expect(r).toMatchObject({ queued: false, savedToSent: false, accepted: ['bob@example.com'] });
    expect(r.warnings.map((w) => w.code)).toEqual(['SENT_COPY_FAILED']);
    expect(r.warnings[0].message).toMatch(
      new RegExp(
        `^le message a été envoyé, mais sa copie dans les Éléments envoyés \\(IMAP 127\\.0\\.0\\.1:${imapPort}\\) n'a pas pu être faite : connexion impossible : .+\\. ` +
          "Vérifiez imap\\.host, imap\\.port et imap\\.security ; la copie sera tentée de nouveau au prochain flush\\. ; gardé dans la boîte d'envoi : la copie sera refaite au prochain flush$",
      ),
    );
    expect(r.warnings[0].message).not.toContain('S3cret-imap');
    const [entry] = await fr.outboxEntries();
    expect(entry).toMatchObject({ state: 'sent', sentCopy: 'pending', messageId: r.messageId });

    const report = await fr.flush();
    expect(report).toMatchObject({ copied: 0, tried: 0, sent: 0 });
    expect(report.results[0]).toMatchObject({ outcome: 'copy-failed', error: { code: 'SENT_COPY_FAILED' } });
    expect(report.results[0].error?.message).toMatch(/^le message a été envoyé, mais sa copie dans les Éléments envoyés .* connexion impossible : /);
    const [after] = await fr.outboxEntries();
    expect(after.attempts.map((a) => a.outcome)).toEqual(['sent', 'copy-failed']);
    expect(after.attempts[1].message).toBe(report.results[0].error?.message);
    expect(server.received).toHaveLength(1);
  } finally {
    await fr.close();
  }
});
