/**
 * The outbox: messages that could not be sent yet, kept on disk and sent again through the same
 * transport, byte for byte (same Message-ID), with backoff; entries whose outcome is unknown are
 * held for a person; a copy in Sent that failed is made again later. Events: queued, sent,
 * failed, held, copied (on the Outbox and on the mailer that owns it).
 */
import { EventEmitter } from 'node:events';
import { MailError, MailWarning, messageText } from '../errors';
import { text, Text } from '../i18n';
import type { ComposedMessage } from '../transports/transport';
import type { Delivery, SendJob } from '../transports/transport';
import { classify, DEFAULT_RETRY, FailureClass, retryDelay, RetryPolicy } from './policy';
import { Attempt, EntryGone, newAttempt, OutboxEntry, OutboxStore, setReason } from './store';
import { remember } from './shown';

/** Options of an outbox. */
export interface OutboxOptions extends Partial<RetryPolicy> {
  dir: string;
  /** Retry in the background while the mailer is open (default true). */
  background?: boolean;
  /** How often the background pass looks for entries added by other processes (default 60 s). */
  pollMs?: number;
}

/** What the outbox needs from a mailer to send an entry again and to copy it to Sent. */
export interface Replayer {
  protocol: 'smtp' | 'managed';
  /** The envelope sender of this mailer's messages: entries of another sender are left alone. */
  sender: string;
  send(job: SendJob, signal?: AbortSignal): Promise<Delivery>;
  /** Copies the sent bytes to Sent; undefined when no copy is to be made. */
  copyToSent?: (composed: ComposedMessage, sender: string) => Promise<{ saved: boolean; warning?: MailWarning } | undefined>;
}

/** An outbox event. */
export interface OutboxEvent {
  type: 'queued' | 'sent' | 'failed' | 'held' | 'copied';
  entry: OutboxEntry;
  /** The failure behind queued, failed and held (code, reply). */
  error?: MailError;
  warnings?: MailWarning[];
}

/** One line of flush progress. */
export interface FlushProgress {
  done: number;
  total: number;
  id: string;
  messageId: string;
  outcome: FlushOutcome;
}

export type FlushOutcome = 'sent' | 'partial' | 'queued' | 'failed' | 'held' | 'copied' | 'copy-failed' | 'busy' | 'skipped';

/** What a flush did. */
export interface FlushReport {
  tried: number;
  sent: number;
  queued: number;
  failed: number;
  held: number;
  copied: number;
  busy: number;
  results: { id: string; messageId: string; outcome: FlushOutcome; error?: { code: string; message: string; responseCode?: number } }[];
}

/** Options of one flush. */
export interface FlushOptions {
  /** Only entries whose next try is due (the background pass); default: every queued entry. */
  dueOnly?: boolean;
  /** Only these entry ids. */
  ids?: string[];
  onProgress?: (p: FlushProgress) => void;
  signal?: AbortSignal;
  /** How many entries are sent at once (default 4; the SMTP pool has 5 connections). */
  concurrency?: number;
}

/** What a flush result says of a failure; its message keeps the error's Text (a mailer with a locale gives it again). */
function errorFacts(err: unknown): { code: string; message: string; responseCode?: number } {
  const e = err as MailError;
  const facts = { code: typeof e?.code === 'string' ? e.code : 'ERROR', responseCode: e?.responseCode, message: '' };
  facts.message = remember(facts, messageText(err));
  return facts;
}

/** A flush result's error for a copy in Sent that failed: the warning's code and message. */
function warningFacts(w: MailWarning): { code: string; message: string } {
  const facts = { code: w.code, message: '' };
  facts.message = remember(facts, messageText(w));
  return facts;
}

/** The replay job of an entry: its stored bytes and envelope. */
function replayJob(store: OutboxStore, entry: OutboxEntry): SendJob {
  const composed: ComposedMessage = {
    messageId: entry.messageId,
    envelope: { from: entry.envelope.from, to: [...entry.envelope.to] },
    ...(entry.dsn ? { dsn: entry.dsn } : {}),
    size: entry.size,
    path: store.messagePath(entry.id),
    dispose: async () => undefined,
  };
  return {
    protocol: entry.protocol,
    effective: { importance: undefined, readReceipt: false, deliveryReceipt: false },
    dropped: new Set(),
    compose: async () => composed,
  };
}

const FIRST_PASS_MS = 1_000;

/** A per-user outbox folder. */
export class Outbox extends EventEmitter {
  readonly store: OutboxStore;
  readonly policy: RetryPolicy;
  private timer?: NodeJS.Timeout;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  random: () => number = Math.random;

  constructor(readonly options: OutboxOptions) {
    super();
    this.store = new OutboxStore(options.dir);
    this.policy = {
      firstRetryMs: options.firstRetryMs ?? DEFAULT_RETRY.firstRetryMs,
      maxRetryMs: options.maxRetryMs ?? DEFAULT_RETRY.maxRetryMs,
      maxAgeMs: options.maxAgeMs ?? DEFAULT_RETRY.maxAgeMs,
    };
  }

  /** True while a flush is running. */
  get busy(): boolean {
    return this.inflight.size > 0;
  }

  get dir(): string {
    return this.store.dir;
  }

  private emitEvent(e: OutboxEvent): void {
    this.emit(e.type, e);
    this.emit('event', e);
  }

  /** Every entry, oldest first. */
  list(): Promise<OutboxEntry[]> {
    return this.store.list();
  }

  /** One entry by id, unique id prefix or Message-ID; OUTBOX_NOT_FOUND if none. */
  async show(ref: string): Promise<OutboxEntry> {
    const id = await this.store.resolve(ref);
    const entry = await this.store.read(id);
    if (!entry) throw new MailError('OUTBOX_NOT_FOUND', text('OUTBOX_NOT_FOUND.gone', { ref }), { hint: text('OUTBOX_NOT_FOUND.hint') });
    return entry;
  }

  /** The stored bytes of an entry, for a person to look at. */
  messagePath(id: string): string {
    return this.store.messagePath(id);
  }

  private async locked<T>(ref: string, what: 'remove' | 'retry', work: (e: OutboxEntry) => Promise<T>): Promise<T> {
    const id = await this.store.resolve(ref);
    const r = await this.store.withEntry(
      id,
      async (e) => {
        if (!e) throw new MailError('OUTBOX_NOT_FOUND', text('OUTBOX_NOT_FOUND.meanwhile', { ref }), { hint: text('OUTBOX_NOT_FOUND.hint') });
        return work(e);
      },
      2_000,
    );
    if (r === 'busy') {
      throw new MailError('OUTBOX_BUSY', text(what === 'remove' ? 'OUTBOX_BUSY.remove' : 'OUTBOX_BUSY.retry', { id }), {
        hint: text('OUTBOX_BUSY.hint'),
      });
    }
    return r;
  }

  /** Removes an entry (a person's decision: it will not be sent). */
  async remove(ref: string): Promise<OutboxEntry> {
    return this.locked(ref, 'remove', async (e) => {
      await this.store.finish(e.id);
      return e;
    });
  }

  /**
   * Puts a held or failed entry back in the queue, due now (a person decided: send it again).
   * The next flush sends it.
   */
  async retry(ref: string): Promise<OutboxEntry> {
    return this.locked(ref, 'retry', async (e) => {
      if (e.state === 'sending') throw new MailError('OUTBOX_BUSY', text('OUTBOX_BUSY.sending', { id: e.id }), { hint: text('OUTBOX_BUSY.hint') });
      if (e.state === 'sent') return e;
      e.state = 'queued';
      e.nextAttemptAt = new Date().toISOString();
      // A person's retry starts a new age window: the 48 h count from now.
      e.createdAt = e.nextAttemptAt;
      setReason(e, undefined);
      return this.store.write(e);
    });
  }

  /**
   * Stores a message that could not be sent yet (`queued`), that may have been delivered
   * (`held`), or that was sent but whose copy in Sent is still to be made (`sent`).
   */
  async enqueue(
    composed: ComposedMessage,
    meta: {
      protocol: 'smtp' | 'managed';
      subject?: string;
      state: 'queued' | 'held' | 'sent';
      attempt: Attempt;
      to?: string[];
      reason?: Text | string;
      sentCopy?: 'done' | 'pending';
    },
    error?: MailError,
  ): Promise<OutboxEntry> {
    const now = new Date();
    // The attempt quotes the error: kept as its Text, so the history can be shown in another language.
    const attempt = error && meta.attempt.message === error.message ? newAttempt({ ...meta.attempt }, messageText(error)) : meta.attempt;
    const entry = await this.store.add(composed, {
      state: meta.state,
      protocol: meta.protocol,
      envelope: { from: composed.envelope.from, to: meta.to ?? [...composed.envelope.to] },
      subject: meta.subject,
      createdAt: now.toISOString(),
      attempts: [attempt],
      ...(meta.state === 'queued' ? { nextAttemptAt: new Date(now.getTime() + retryDelay(1, this.policy, this.random)).toISOString() } : {}),
      ...(meta.state === 'sent' ? { sentCopy: 'pending' as const } : meta.sentCopy ? { sentCopy: meta.sentCopy } : {}),
      ...(meta.reason ? { reason: meta.reason } : {}),
    });
    if (meta.state === 'queued') this.emitEvent({ type: 'queued', entry, error });
    if (meta.state === 'held') this.emitEvent({ type: 'held', entry, error });
    this.reschedule(new Date(entry.nextAttemptAt ?? now).getTime());
    return entry;
  }

  /** Sends every queued entry of this replayer's route (or only those due), one at a time; copies pending Sent copies. */
  async flush(replayer: Replayer, options: FlushOptions = {}): Promise<FlushReport> {
    const run = this.flushNow(replayer, options);
    const settled = run.catch(() => undefined);
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return run;
  }

  private async flushNow(replayer: Replayer, options: FlushOptions): Promise<FlushReport> {
    await this.store.ensure();
    await this.store.sweep();
    const now = Date.now();
    const wanted = (await this.store.list()).filter(
      (e) =>
        (!options.ids || options.ids.includes(e.id)) &&
        e.protocol === replayer.protocol &&
        e.envelope.from === replayer.sender &&
        (e.state === 'sent' || e.state === 'sending' || (e.state === 'queued' && (!options.dueOnly || Date.parse(e.nextAttemptAt ?? '') <= now))),
    );
    const report: FlushReport = { tried: 0, sent: 0, queued: 0, failed: 0, held: 0, copied: 0, busy: 0, results: [] };
    let done = 0;
    let next = 0;
    // A few entries at a time, as many as the SMTP pool has connections; each under its own lock.
    const worker = async () => {
      while (next < wanted.length) {
        if (options.signal?.aborted || (this.closed && options.dueOnly)) return;
        const listed = wanted[next++];
        const outcome = await this.store.withEntry(listed.id, (e) => this.process(e, replayer, options, report));
        const result = outcome === 'busy' ? { outcome: 'busy' as const } : outcome;
        if (result.outcome === 'busy') report.busy++;
        report.results.push({ id: listed.id, messageId: listed.messageId, ...result });
        options.onProgress?.({ done: ++done, total: wanted.length, id: listed.id, messageId: listed.messageId, outcome: result.outcome });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, wanted.length)) }, worker));
    return report;
  }

  /** One entry, under its lock. */
  private async process(
    e: OutboxEntry | undefined,
    replayer: Replayer,
    options: FlushOptions,
    report: FlushReport,
  ): Promise<{ outcome: FlushOutcome; error?: { code: string; message: string; responseCode?: number } }> {
    if (!e) return { outcome: 'skipped' };
    try {
      if (e.state === 'sending') {
        // We hold its lock, so the process that was sending it is gone: the server may have it.
        e.state = 'held';
        const reason = text('outbox.reason.stopped', { pid: e.pid ?? '?' });
        setReason(e, reason);
        e.attempts.push(newAttempt({ at: new Date().toISOString(), outcome: 'unknown' }, reason));
        delete e.pid;
        await this.store.write(e);
        report.held++;
        this.emitEvent({ type: 'held', entry: e });
        return { outcome: 'held' };
      }
      if (e.state === 'sent') return await this.copy(e, replayer, report);
      if (e.state !== 'queued') return { outcome: 'skipped' };
      if (e.sentCopy === 'pending' && replayer.copyToSent) {
        // Sent to some recipients already, its copy failed then: made now, whatever the rest does.
        const r = await replayer.copyToSent(await replayJob(this.store, e).compose(), e.envelope.from);
        e.attempts.push(
          newAttempt(
            { at: new Date().toISOString(), outcome: !r || r.saved ? 'copied' : 'copy-failed', code: r?.warning?.code },
            r?.warning ? messageText(r.warning) : undefined,
          ),
        );
        if (!r || r.saved) {
          e.sentCopy = 'done';
          report.copied++;
        }
        await this.store.write(e);
      }
      if (options.dueOnly && Date.parse(e.nextAttemptAt ?? '') > Date.now()) return { outcome: 'skipped' };
      report.tried++;
      e.state = 'sending';
      e.pid = process.pid;
      await this.store.write(e);
      const job = replayJob(this.store, e);
      let delivery: Delivery;
      try {
        delivery = await replayer.send(job, options.signal);
      } catch (err) {
        return await this.failed(e, err, options, report);
      }
      delete e.pid;
      const deferred = delivery.rejectedDetails.filter((r) => !r.permanent).map((r) => r.address);
      const rejected = delivery.rejectedDetails.filter((r) => r.permanent).map((r) => r.address);
      e.attempts.push({ at: new Date().toISOString(), outcome: deferred.length ? 'partial' : 'sent', accepted: delivery.accepted, deferred, rejected });
      const composed = await job.compose();
      if (deferred.length) {
        // Only the deferred recipients stay: the others have it.
        e.envelope.to = deferred;
        e.state = 'queued';
        e.nextAttemptAt = new Date(Date.now() + retryDelay(this.failures(e), this.policy, this.random)).toISOString();
        await this.store.write(e);
        report.queued++;
        this.emitEvent({ type: 'sent', entry: e, warnings: delivery.warnings });
        this.reschedule(Date.parse(e.nextAttemptAt));
        return { outcome: 'partial' };
      }
      report.sent++;
      e.state = 'sent';
      delete e.nextAttemptAt;
      this.emitEvent({ type: 'sent', entry: e, warnings: delivery.warnings });
      if (replayer.copyToSent && e.sentCopy !== 'done') {
        e.sentCopy = 'pending';
        await this.store.write(e);
        const copied = await this.copy(e, replayer, report, composed);
        return { outcome: copied.outcome === 'copied' ? 'sent' : 'copy-failed' };
      }
      await this.store.finish(e.id);
      return { outcome: 'sent' };
    } catch (err) {
      if (err instanceof EntryGone) return { outcome: 'skipped' };
      throw err;
    }
  }

  private failures(e: OutboxEntry): number {
    return e.attempts.filter((a) => a.outcome === 'transient' || a.outcome === 'partial').length;
  }

  private async failed(e: OutboxEntry, err: unknown, options: FlushOptions, report: FlushReport) {
    delete e.pid;
    const facts = errorFacts(err);
    const error = err instanceof MailError ? err : undefined;
    const klass: FailureClass | 'released' = facts.code === 'ABORTED' && options.signal?.aborted ? 'released' : classify(err);
    e.attempts.push(newAttempt({ at: new Date().toISOString(), outcome: klass, code: facts.code, responseCode: facts.responseCode }, messageText(err)));
    const message = messageText(err);
    if (klass === 'released') {
      // Aborted before the final dot (after it, the transport reports SMTP_DELIVERY_UNKNOWN): as it was.
      e.state = 'queued';
      await this.store.write(e);
      return { outcome: 'queued' as const, error: facts };
    }
    if (klass === 'transient' && Date.now() - Date.parse(e.createdAt) < this.policy.maxAgeMs) {
      e.state = 'queued';
      e.nextAttemptAt = new Date(Date.now() + retryDelay(this.failures(e), this.policy, this.random)).toISOString();
      await this.store.write(e);
      report.queued++;
      this.emitEvent({ type: 'queued', entry: e, error });
      this.reschedule(Date.parse(e.nextAttemptAt));
      return { outcome: 'queued' as const, error: facts };
    }
    if (klass === 'unknown') {
      e.state = 'held';
      setReason(e, facts.responseCode ? text('outbox.reason.unknownReply', { responseCode: facts.responseCode }) : text('outbox.reason.unknown'));
      await this.store.write(e);
      report.held++;
      this.emitEvent({ type: 'held', entry: e, error });
      return { outcome: 'held' as const, error: facts };
    }
    e.state = 'failed';
    setReason(
      e,
      klass === 'transient'
        ? text('outbox.reason.gaveUp', { hours: Math.round(this.policy.maxAgeMs / 3_600_000), message })
        : facts.responseCode
          ? text('outbox.reason.refusedReply', { responseCode: facts.responseCode, message })
          : text('outbox.reason.refused', { message }),
    );
    delete e.nextAttemptAt;
    await this.store.write(e);
    report.failed++;
    this.emitEvent({ type: 'failed', entry: e, error });
    return { outcome: 'failed' as const, error: facts };
  }

  /** Makes a pending copy in Sent; the entry stays for a later try when it fails. */
  private async copy(e: OutboxEntry, replayer: Replayer, report: FlushReport, composed?: ComposedMessage) {
    if (!replayer.copyToSent) return { outcome: 'skipped' as const };
    const bytes = composed ?? (await replayJob(this.store, e).compose());
    const r = await replayer.copyToSent(bytes, e.envelope.from);
    if (!r || r.saved) {
      e.attempts.push(newAttempt({ at: new Date().toISOString(), outcome: 'copied' }));
      await this.store.finish(e.id);
      report.copied++;
      this.emitEvent({ type: 'copied', entry: e });
      return { outcome: 'copied' as const };
    }
    e.attempts.push(
      newAttempt({ at: new Date().toISOString(), outcome: 'copy-failed', code: r.warning?.code }, r.warning ? messageText(r.warning) : undefined),
    );
    await this.store.write(e);
    return { outcome: 'copy-failed' as const, error: r.warning ? warningFacts(r.warning) : undefined };
  }

  private replayer?: Replayer;

  /** Retries due entries in the background through `replayer` (timer unref'd: it never keeps the process alive). */
  startBackground(replayer: Replayer): void {
    if (this.options.background === false || this.closed) return;
    this.replayer = replayer;
    // The first pass a moment after the mailer opens (entries left by an earlier run), not at once:
    // a mailer made for one send is closed before it.
    this.reschedule(Date.now() + FIRST_PASS_MS);
  }

  /** Sets the next background pass at `at` if sooner than the one set (and at most pollMs away). */
  private reschedule(at: number): void {
    if (!this.replayer || this.closed) return;
    const poll = this.options.pollMs ?? 60_000;
    const wait = Math.max(0, Math.min(at - Date.now(), poll));
    const due = Date.now() + wait;
    if (this.timer && this.nextAt !== undefined && this.nextAt <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = due;
    this.timer = setTimeout(() => this.pass(), wait);
    this.timer.unref();
  }

  private nextAt?: number;

  private async pass(): Promise<void> {
    this.timer = undefined;
    this.nextAt = undefined;
    const replayer = this.replayer;
    if (!replayer || this.closed) return;
    try {
      await this.flush(replayer, { dueOnly: true });
    } catch (err) {
      this.emit('error-pass', err);
    }
    if (this.closed) return;
    const next = (await this.store.list().catch(() => [] as OutboxEntry[]))
      .filter((e) => e.state === 'queued' && e.protocol === replayer.protocol && e.envelope.from === replayer.sender)
      .map((e) => Date.parse(e.nextAttemptAt ?? ''))
      .filter((t) => !Number.isNaN(t));
    this.reschedule(next.length ? Math.min(...next) : Date.now() + (this.options.pollMs ?? 60_000));
  }

  /** Stops the background retries; resolves once a send in progress has finished (its entry updated). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.inflight]);
  }
}
