/**
 * createMailer: the user's effective settings, the protocol choice, the capability rule, and the
 * one road every message travels: validate -> capability check -> transport -> result.
 */
import { Feature, checkCapabilities, Origin, protocolKey, ProtocolKey, requestedFeatures, UnsupportedPolicy } from './capabilities';
import { asMailError, localizeError, localizeWarning, MailError, MailWarning, messageText, Protocol, RejectedRecipient, rephrase, warning } from './errors';
import { format, text, Text, textList } from './i18n';
import { NormalizedMessage, MailMessage, validateMessage } from './message';
import { SendResult, SmtpVerifyResult } from './result';
import { inspect } from 'node:util';
import { DEADLINE_BOUNDS, EffectiveSettings, maskSecrets, resolveSettings, SettingsInput, UserMailSettings } from './settings';
import type { ComposedMessage, Effective, Identity } from './transports/compose';
import type * as ComposeModule from './transports/compose';
import type { ManagedRelay } from './transports/managed';
import type * as ManagedModule from './transports/managed';
import type { MapiSendOptions, MapiTransport } from './transports/mapi';
import type * as MapiModule from './transports/mapi';
import type { SmtpTransport } from './transports/smtp';
import type * as SmtpModule from './transports/smtp';
import { lazy } from './lazy';

/* eslint-disable @typescript-eslint/no-require-imports */
// The transports (and nodemailer behind them) load with the first send or verify: require('oxymail') stays fast.
const smtpModule = lazy(() => require('./transports/smtp') as typeof SmtpModule);
const mapiModule = lazy(() => require('./transports/mapi') as typeof MapiModule);
const composeModule = lazy(() => require('./transports/compose') as typeof ComposeModule);
// So do the managed relay's settings, the OAuth2 token source, the outbox policy and the copy in Sent.
const managedModule = lazy(() => require('./transports/managed') as typeof ManagedModule);
const tokenSourceModule = lazy(() => require('./oauth/token-source') as typeof TokenSourceModule);
const policyModule = lazy(() => require('./outbox/policy') as typeof PolicyModule);
const sentCopyModule = lazy(() => require('./imap/sent-copy') as typeof SentCopyModule);
/* eslint-enable @typescript-eslint/no-require-imports */
import type { Delivery, SendJob, Transport } from './transports/transport';
import type { OnTokens, TokenSource } from './oauth/token-source';
import type * as TokenSourceModule from './oauth/token-source';
import { EventEmitter, on } from 'node:events';
import type * as PolicyModule from './outbox/policy';
import type { FlushOptions, FlushReport, Outbox, OutboxEvent, OutboxOptions, Replayer } from './outbox/outbox';
import type * as OutboxModule from './outbox/outbox';
import type { OutboxEntry } from './outbox/store';
import { defaultOutboxFolder } from './outbox/paths';
import { localizeEntry, localizeFacts } from './outbox/shown';
import type * as StoreModule from './store/store';

/* eslint-disable @typescript-eslint/no-require-imports */
// The outbox (and the store's lock it uses) loads only for a mailer that has one.
const outboxModule = lazy(() => require('./outbox/outbox') as typeof OutboxModule);
const storeModule = lazy(() => require('./store/store') as typeof StoreModule);
/* eslint-enable @typescript-eslint/no-require-imports */
import type { SentCopier } from './imap/sent-copy';
import type * as SentCopyModule from './imap/sent-copy';

/** A send's job, with what the mailer needs after the transport: the composed bytes' clean-up and the ENVID. */
type MailerJob = SendJob & { disposeComposed(): Promise<void>; envelopeId(): string | undefined };

/** A recipient's details as the result shows them (the server's text stays in the outbox history). */
function publicDetail(r: { address: string; responseCode?: number; permanent: boolean }): RejectedRecipient {
  return { address: r.address, ...(r.responseCode !== undefined ? { responseCode: r.responseCode } : {}), permanent: r.permanent };
}

/**
 * When the outbox cannot keep a message (disk full, rights), the send's own error is what the
 * caller gets, saying also that nothing was kept.
 */
function noteUnkept(err: unknown, why: unknown): undefined {
  const unkept = text('OUTBOX_WRITE.unkept', { error: messageText(err), why: messageText(why) });
  if (err instanceof MailError) rephrase(err, unkept);
  else if (err instanceof Error) err.message = format(unkept);
  return undefined;
}

/** Why a send was queued, as MESSAGE_QUEUED says it: the code, the server's reply code, the error's message. */
function failureText(err: unknown): Text {
  const e = err as MailError;
  const code = String(e?.code ?? 'ERROR');
  const message = messageText(err);
  return typeof e?.responseCode === 'number'
    ? text('MESSAGE_QUEUED.failureReply', { code, responseCode: e.responseCode, message })
    : text('MESSAGE_QUEUED.failure', { code, message });
}

/** The MESSAGE_QUEUED warning of an entry. */
function queuedWarning(entry: OutboxEntry, reason: Text): MailWarning {
  return warning(
    'MESSAGE_QUEUED',
    entry.nextAttemptAt
      ? text('MESSAGE_QUEUED', { reason, id: entry.id, next: entry.nextAttemptAt })
      : text('MESSAGE_QUEUED.nextFlush', { reason, id: entry.id }),
  );
}

/** The deferred recipients as MESSAGE_QUEUED names them: `late@example.com (451), ...`. */
function deferredText(deferred: { address: string; responseCode?: number }[]): Text {
  const list = deferred.map((d) => (d.responseCode ? text('MESSAGE_QUEUED.recipientReply', { address: d.address, responseCode: d.responseCode }) : d.address));
  return text('MESSAGE_QUEUED.deferred', { list: textList(list) });
}

/** Options of createMailer, given by the host application. */
export interface MailerOptions {
  /** The suite's relay for managed sending (else OXYMAIL_MANAGED_RELAY / OXYMAIL_MANAGED_FROM). */
  managed?: ManagedRelay;
  /** The application's local settings, layered over the user's general ones. */
  overrides?: SettingsInput;
  /** What an explicit option the protocol cannot honour does: 'error' (default) or 'warn'. */
  unsupported?: UnsupportedPolicy;
  /**
   * Keep messages that fail for a passing reason (server down, 4xx, timeout) in a durable local
   * outbox and retry them: `true` (the default folder; `outbox: true` in the user's settings does
   * the same) or `{ dir, ... }` with the retry timing. Default: no outbox (failures throw).
   */
  outbox?: boolean | MailerOutboxOptions;
  /**
   * The language of messages, hints and warnings this mailer throws and returns ('fr', 'fr-CA',
   * 'en'...: fr* is French, anything else English); else the process default (OXYMAIL_LANG, LANG...).
   */
  locale?: string;
  /**
   * With smtp.oauth2: receives each new refresh token (providers rotate them: save it, the old one
   * stops working). Mailers made by the settings store save it themselves.
   */
  onTokens?: OnTokens;
  /** SMTP credentials from your own token source (XOAUTH2), instead of smtp.oauth2 or a password. */
  tokenSource?: TokenSource;
}

/** The outbox of a mailer: its folder and retry timing. */
export interface MailerOutboxOptions extends Partial<Omit<OutboxOptions, 'dir'>> {
  /** Default: `outbox/default` beside the settings store (a store user's mailer: `outbox/<user>`). */
  dir?: string;
}

/** Options of one send. */
export interface SendOptions extends MapiSendOptions {
  /** Switch protocol for this send only. */
  protocol?: Protocol;
  signal?: AbortSignal;
  /** Overall deadline of this send in ms (SMTP, managed): 100 to 3600000; default smtp.deadlineMs, else 300000. */
  deadlineMs?: number;
}

/** What verify() found. */
export type VerifyResult = SmtpVerifyResult | { protocol: 'mapi'; interface: 'simple' | 'extended'; warnings: MailWarning[] };

/** Sends messages with one user's settings. */
export interface Mailer {
  /** The validated settings after layering (secrets included: do not print). */
  readonly settings: UserMailSettings;
  /** Each effective value with its layer (default, user, application); secrets masked. */
  readonly effectiveSettings: EffectiveSettings;
  /** The protocol a send uses unless sendOptions.protocol says otherwise. */
  readonly protocol: Protocol;
  /** The outbox folder, when the mailer has one. */
  readonly outboxDir: string | undefined;
  send(message: MailMessage, options?: SendOptions): Promise<SendResult>;
  verify(options?: { protocol?: Protocol }): Promise<VerifyResult>;
  /** Sends the outbox's queued entries now (and pending copies in Sent); OUTBOX_DISABLED without an outbox. */
  flush(options?: FlushOptions): Promise<FlushReport>;
  /** The outbox entries, oldest first (empty without an outbox). */
  outboxEntries(): Promise<OutboxEntry[]>;
  /** Outbox events: queued, sent, failed, held, copied. */
  on(type: OutboxEvent['type'], listener: (event: OutboxEvent) => void): this;
  off(type: OutboxEvent['type'], listener: (event: OutboxEvent) => void): this;
  /** The same events as an async iterator, until `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterable<OutboxEvent>;
  /** Stops background retries and closes connections; resolves once a retry in progress has finished. */
  close(): Promise<void>;
}

const MAILER_OPTIONS = new Set(['managed', 'overrides', 'unsupported', 'onTokens', 'tokenSource', 'outbox', 'locale']);
const OUTBOX_OPTIONS = new Set(['dir', 'firstRetryMs', 'maxRetryMs', 'maxAgeMs', 'background', 'pollMs']);

/** The outbox options of a mailer, checked; undefined when it has none. */
function outboxOptions(given: MailerOptions['outbox'], fromSettings: boolean | undefined): OutboxOptions | undefined {
  if (given === false || (given === undefined && !fromSettings)) return undefined;
  const o = given === true || given === undefined ? {} : given;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new MailError('INVALID_OPTION', text('INVALID_OPTION.outbox'));
  rejectUnknown('createMailer outbox', o, OUTBOX_OPTIONS);
  if (o.dir !== undefined && (typeof o.dir !== 'string' || o.dir === '')) throw new MailError('INVALID_OPTION', text('INVALID_OPTION.outboxDir'));
  for (const key of ['firstRetryMs', 'maxRetryMs', 'maxAgeMs', 'pollMs'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 2 ** 31 * 1000)) {
      throw new MailError('INVALID_OPTION', text('INVALID_OPTION.outboxMs', { key }));
    }
  }
  if (o.background !== undefined && typeof o.background !== 'boolean') throw new MailError('INVALID_OPTION', text('INVALID_OPTION.outboxBackground'));
  return { ...o, dir: o.dir ?? defaultOutboxFolder(storeModule().defaultStorePath()) };
}
const SEND_OPTIONS = new Set(['protocol', 'signal', 'dialog', 'parentWindow', 'deadlineMs']);
const PROTOCOLS: Protocol[] = ['managed', 'smtp', 'mapi'];

function rejectUnknown(what: string, given: object, known: Set<string>): void {
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length) {
    const options = unknown.map((k) => `'${k}'`).join(', ');
    throw new MailError(
      'UNKNOWN_OPTION',
      text(unknown.length > 1 ? 'UNKNOWN_OPTION.options' : 'UNKNOWN_OPTION.option', { what, options, known: [...known].join(', ') }),
    );
  }
}

/** The known options as own properties only: one inherited from a polluted Object.prototype is not the caller's. */
function ownOptions<T extends object>(given: T, known: Set<string>): T {
  const out = {} as Record<string, unknown>;
  for (const key of known) out[key] = Object.hasOwn(given, key) ? (given as Record<string, unknown>)[key] : undefined;
  return out as T;
}

function checkDeadline(ms: unknown): void {
  if (ms === undefined) return;
  if (!Number.isInteger(ms) || (ms as number) < DEADLINE_BOUNDS.min || (ms as number) > DEADLINE_BOUNDS.max) {
    throw new MailError('INVALID_OPTION', text('INVALID_OPTION.deadlineMs', { min: DEADLINE_BOUNDS.min, max: DEADLINE_BOUNDS.max }));
  }
}

/** Creates a mailer for one user's settings (validated now: INVALID_SETTINGS lists every problem). */
export function createMailer(settings: SettingsInput | UserMailSettings, givenOptions: MailerOptions = {}): Mailer {
  const given = givenOptions && Object.hasOwn(givenOptions, 'locale') ? givenOptions.locale : undefined;
  const locale = typeof given === 'string' ? given : undefined;
  try {
    rejectUnknown('createMailer', givenOptions, MAILER_OPTIONS);
    const options = ownOptions(givenOptions, MAILER_OPTIONS);
    if (options.unsupported !== undefined && options.unsupported !== 'error' && options.unsupported !== 'warn') {
      throw new MailError('INVALID_OPTION', text('INVALID_OPTION.unsupported'));
    }
    if (options.locale !== undefined && typeof options.locale !== 'string') {
      throw new MailError('INVALID_OPTION', text('INVALID_OPTION.locale'));
    }
    if (options.onTokens !== undefined && typeof options.onTokens !== 'function') throw new MailError('INVALID_OPTION', text('INVALID_OPTION.onTokens'));
    const ts = options.tokenSource;
    if (ts !== undefined && (typeof ts?.getAccessToken !== 'function' || typeof ts.user !== 'string')) {
      throw new MailError('INVALID_OPTION', text('INVALID_OPTION.tokenSource'));
    }
    const resolved = resolveSettings(settings, options.overrides);
    const outbox = outboxOptions(options.outbox, resolved.settings.outbox);
    const mailer = new MailerImpl(resolved.settings, resolved.effective, resolved.warnings, options, outbox);
    return locale === undefined ? mailer : localized(mailer, locale);
  } catch (err) {
    throw locale === undefined ? err : localizeError(err, locale);
  }
}

/**
 * The mailer boundary in an explicit locale: what send(), verify(), flush() and outboxEntries()
 * throw or return, and the outbox events (on() and events()), given again in `locale`: messages,
 * hints, problems, warnings, entry reasons and attempt messages, flush errors. Codes and every
 * other field unchanged.
 */
function localized(mailer: MailerImpl, locale: string): Mailer {
  const fail = (err: unknown) => Promise.reject(localizeError(err, locale));
  const warnings = (list: MailWarning[]) => list.map((w) => localizeWarning(w, locale));
  const again = <R extends { warnings: MailWarning[] }>(call: Promise<R>): Promise<R> => call.then((r) => ({ ...r, warnings: warnings(r.warnings) }), fail);
  const event = (e: OutboxEvent): OutboxEvent => ({
    ...e,
    entry: localizeEntry(e.entry, locale),
    ...(e.error ? { error: localizeError(e.error, locale) } : {}),
    ...(e.warnings ? { warnings: warnings(e.warnings) } : {}),
  });
  const report = (r: FlushReport): FlushReport => ({ ...r, results: r.results.map((x) => (x.error ? { ...x, error: localizeFacts(x.error, locale) } : x)) });
  const send = mailer.send.bind(mailer);
  const verify = mailer.verify.bind(mailer);
  const flush = mailer.flush.bind(mailer);
  const entries = mailer.outboxEntries.bind(mailer);
  const on = mailer.on.bind(mailer);
  const off = mailer.off.bind(mailer);
  const events = mailer.events.bind(mailer);
  mailer.send = (message, options) => again(send(message, options));
  mailer.verify = (options) => again(verify(options));
  mailer.flush = (options) => flush(options).then(report, fail);
  mailer.outboxEntries = () => entries().then((list) => list.map((e) => localizeEntry(e, locale)), fail);
  // Each listener gets the event in the mailer's locale; off() finds the wrapper it was given.
  const wrappers = new Map<string, Map<(e: OutboxEvent) => void, ((e: OutboxEvent) => void)[]>>();
  mailer.on = (type, listener) => {
    const wrapped = (e: OutboxEvent) => listener(event(e));
    const ofType = wrappers.get(type) ?? new Map();
    wrappers.set(type, ofType.set(listener, [...(ofType.get(listener) ?? []), wrapped]));
    on(type, wrapped);
    return mailer;
  };
  mailer.off = (type, listener) => {
    const list = wrappers.get(type)?.get(listener);
    const wrapped = list?.pop();
    if (list && !list.length) wrappers.get(type)?.delete(listener);
    off(type, wrapped ?? listener);
    return mailer;
  };
  mailer.events = (signal) => ({
    async *[Symbol.asyncIterator]() {
      for await (const e of events(signal)) yield event(e);
    },
  });
  return mailer;
}

class MailerImpl implements Mailer {
  readonly protocol: Protocol;
  private readonly policy: UnsupportedPolicy;
  // What holds a secret (the settings, the relay, the transports and their connections) lives in
  // private fields, exposed through accessors on the prototype: neither util.inspect (even with
  // customInspect: false or showHidden) nor a spread ({ ...mailer }) reaches them.
  readonly #settings: UserMailSettings;
  readonly #options: MailerOptions;
  readonly #routes = new Map<Protocol, Transport>();
  #relay?: ManagedRelay | null;
  /** Who composed messages are from, for the protocols that compose (MAPI: the mail client's account). */
  readonly #identities: Partial<Record<Protocol, () => Identity>> = {
    managed: () => this.identity('managed'),
    smtp: () => this.identity('smtp'),
  };
  // The outbox and the copiers (whose closures hold the IMAP account) are private fields too.
  readonly #outbox?: Outbox;
  readonly #quiet = new EventEmitter();
  readonly #copiers = new Map<Protocol, SentCopier | undefined>();
  #madeTokenSource?: TokenSource;

  constructor(
    settings: UserMailSettings,
    readonly effectiveSettings: EffectiveSettings,
    private readonly settingsWarnings: MailWarning[],
    options: MailerOptions,
    outbox: OutboxOptions | undefined,
  ) {
    this.#settings = settings;
    this.#options = options;
    this.protocol = settings.customize ? (settings.protocol as Protocol) : 'managed';
    this.policy = options.unsupported ?? 'error';
    if (outbox) {
      this.#outbox = new (outboxModule().Outbox)(outbox);
      const box = this.#outbox;
      // Background retries of this mailer's own route, once it can be built (a broken route is reported by send()).
      const replayer = this.tryReplayer(this.protocol);
      if (replayer) box.startBackground(replayer);
    }
  }

  private get outbox(): Outbox | undefined {
    return this.#outbox;
  }

  private get quiet(): EventEmitter {
    return this.#quiet;
  }

  private get copiers(): Map<Protocol, SentCopier | undefined> {
    return this.#copiers;
  }

  get outboxDir(): string | undefined {
    return this.outbox?.dir;
  }

  private get emitter(): EventEmitter {
    return this.outbox ?? this.quiet;
  }

  on(type: OutboxEvent['type'], listener: (event: OutboxEvent) => void): this {
    this.emitter.on(type, listener);
    return this;
  }

  off(type: OutboxEvent['type'], listener: (event: OutboxEvent) => void): this {
    this.emitter.off(type, listener);
    return this;
  }

  async *events(signal?: AbortSignal): AsyncIterable<OutboxEvent> {
    try {
      for await (const [event] of on(this.emitter, 'event', { signal })) yield event as OutboxEvent;
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') throw err;
    }
  }

  /** What the outbox needs to send entries of `protocol` again; undefined when the route cannot be built. */
  private tryReplayer(protocol: Protocol): Replayer | undefined {
    if (protocol === 'mapi') return undefined;
    try {
      return this.replayer(protocol);
    } catch {
      return undefined;
    }
  }

  private replayer(protocol: 'smtp' | 'managed'): Replayer {
    const identity = this.identity(protocol);
    const transport = this.route(protocol);
    const copier = this.sentCopier(protocol);
    return {
      protocol,
      sender: identity.from.address,
      send: (job, signal) => transport.send(job, signal),
      copyToSent: copier ? (composed) => copier(composed) : undefined,
    };
  }

  /** The copy in Sent for a protocol, or undefined when none is made (settings, or the provider files it itself). */
  private sentCopier(protocol: Protocol): SentCopier | undefined {
    if (!this.copiers.has(protocol))
      this.copiers.set(
        protocol,
        protocol === 'mapi'
          ? undefined
          : sentCopyModule().sentCopierFor(
              this.settings,
              protocol === 'managed' ? undefined : this.settings.smtp?.host,
              protocol === 'smtp' ? this.tokenSource() : undefined,
            ),
      );
    return this.copiers.get(protocol);
  }

  async flush(options: FlushOptions = {}): Promise<FlushReport> {
    if (!this.outbox) {
      throw new MailError('OUTBOX_DISABLED', text('OUTBOX_DISABLED'), { hint: text('OUTBOX_DISABLED.hint') });
    }
    const protocols = new Set((await this.outbox.list()).map((e) => e.protocol));
    protocols.add(this.protocol === 'mapi' ? 'smtp' : this.protocol);
    const reports: FlushReport[] = [];
    for (const protocol of protocols) {
      // The mailer's own route must work; another route's entries wait for a mailer that has it.
      const replayer = protocol === this.protocol ? this.replayer(protocol) : this.tryReplayer(protocol);
      if (replayer) reports.push(await this.outbox.flush(replayer, options));
    }
    const none: FlushReport = { tried: 0, sent: 0, queued: 0, failed: 0, held: 0, copied: 0, busy: 0, results: [] };
    return reports.reduce(
      (a, r) => ({
        tried: a.tried + r.tried,
        sent: a.sent + r.sent,
        queued: a.queued + r.queued,
        failed: a.failed + r.failed,
        held: a.held + r.held,
        copied: a.copied + r.copied,
        busy: a.busy + r.busy,
        results: [...a.results, ...r.results],
      }),
      none,
    );
  }

  async outboxEntries(): Promise<OutboxEntry[]> {
    return this.outbox ? this.outbox.list() : [];
  }

  /** The validated settings after layering (secrets included: do not print). */
  get settings(): UserMailSettings {
    return this.#settings;
  }

  private get options(): MailerOptions {
    return this.#options;
  }

  private get routes(): Map<Protocol, Transport> {
    return this.#routes;
  }

  private get identities(): Partial<Record<Protocol, () => Identity>> {
    return this.#identities;
  }

  private get relay(): ManagedRelay | null | undefined {
    return this.#relay;
  }

  private set relay(relay: ManagedRelay | null | undefined) {
    this.#relay = relay;
  }

  private chooseProtocol(requested: Protocol | undefined): Protocol {
    if (requested === undefined) return this.protocol;
    if (!PROTOCOLS.includes(requested)) throw new MailError('INVALID_OPTION', text('INVALID_OPTION.protocol', { protocols: PROTOCOLS.join(', ') }));
    return requested;
  }

  private managedRelay(): ManagedRelay {
    if (this.relay === undefined) this.relay = managedModule().resolveRelay(this.options.managed) ?? null;
    if (!this.relay) {
      throw new MailError('MANAGED_NOT_CONNECTED', text('MANAGED_NOT_CONNECTED'), {
        protocol: 'managed',
        hint: managedModule().MANAGED_HINT,
      });
    }
    return this.relay;
  }

  /** The transport of a protocol, made on first use. */
  private route(protocol: Protocol): Transport {
    let t = this.routes.get(protocol);
    if (!t) {
      if (protocol === 'managed') t = new (smtpModule().SmtpTransport)(managedModule().relayEndpoint(this.managedRelay()), 'managed');
      else if (protocol === 'smtp') t = new (smtpModule().SmtpTransport)(this.requireSmtp(), 'smtp', this.tokenSource());
      else t = new (mapiModule().MapiTransport)(this.settings.mapi ?? { interface: 'simple', dialog: false });
      this.routes.set(protocol, t);
    }
    return t;
  }

  /** The SMTP credentials when they are OAuth2 tokens: the application's source, or one made from smtp.oauth2. */
  private tokenSource(): TokenSource | undefined {
    if (this.options.tokenSource) return this.options.tokenSource;
    const smtp = this.settings.smtp;
    if (!smtp?.oauth2) return undefined;
    // One source per mailer, shared by SMTP and the IMAP copy: two would each refresh, and a rotated
    // refresh token would leave the other with a dead one.
    return (this.#madeTokenSource ??= tokenSourceModule().createTokenSource({
      oauth2: smtp.oauth2,
      user: smtp.username ?? (this.settings.email as string),
      onTokens: this.options.onTokens,
    }));
  }

  private requireSmtp() {
    const smtp = this.settings.smtp;
    if (!smtp?.host || !this.settings.email) {
      throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.missing', { protocol: 'smtp', field: !smtp?.host ? 'smtp.host' : 'email' }), {
        protocol: 'smtp',
        hint: text('INVALID_SETTINGS.hint.smtpMissing'),
      });
    }
    return smtp;
  }

  private requireEmail(protocol: Protocol): string {
    if (!this.settings.email) {
      throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.missing', { protocol, field: 'email' }), {
        protocol,
        hint: text('INVALID_SETTINGS.hint.emailMissing'),
      });
    }
    return this.settings.email;
  }

  private protocolKey(protocol: Protocol): ProtocolKey {
    return protocolKey(protocol, this.settings.mapi?.interface);
  }

  /** Which options this send asks for, and whether the caller or the settings asked. */
  private requested(msg: NormalizedMessage, options: SendOptions, protocol: Protocol): Partial<Record<Feature, Origin>> {
    return requestedFeatures(msg, options, this.settings.defaults, protocol === 'mapi' && !!this.settings.mapi?.dialog);
  }

  async send(message: MailMessage, options: SendOptions = {}): Promise<SendResult> {
    try {
      return await this.sendOnce(message, options);
    } catch (err) {
      // Every failure leaves as a MailError with a code, whatever raised it.
      throw asMailError(err, 'send');
    }
  }

  private async sendOnce(message: MailMessage, givenOptions: SendOptions): Promise<SendResult> {
    rejectUnknown('send', givenOptions, SEND_OPTIONS);
    const options = ownOptions(givenOptions, SEND_OPTIONS);
    checkDeadline(options.deadlineMs);
    const protocol = this.chooseProtocol(options.protocol);
    const msg = await validateMessage(message);
    if (protocol === 'managed' && msg.bulk) {
      throw new MailError('MANAGED_BULK_FORBIDDEN', text('MANAGED_BULK_FORBIDDEN'), {
        protocol,
        hint: text('MANAGED_BULK_FORBIDDEN.hint'),
      });
    }
    const warnings: MailWarning[] = [];
    const dropped = checkCapabilities(this.protocolKey(protocol), this.requested(msg, options, protocol), this.policy, warnings);
    const d = this.settings.defaults;
    const keep = <T>(feature: Feature, value: T): T | undefined => (dropped.has(feature) ? undefined : value);
    const importance = keep('importance', msg.importance ?? d.importance);
    const eff: Effective = {
      importance: importance === 'normal' ? undefined : importance,
      readReceipt: keep('readReceipt', msg.readReceipt ?? d.readReceipt) ?? false,
      deliveryReceipt:
        keep('deliveryReceipt', msg.deliveryReceipt ?? (d.deliveryReceipt ? { notify: ['success', 'failure'], ret: 'headers' } : false)) || false,
    };
    if (options.signal?.aborted) throw new MailError('ABORTED', text('ABORTED.before', { protocol }), { protocol });
    const receipts: SendResult['receipts'] = {
      read: eff.readReceipt ? 'requested' : 'not-requested',
      delivery: eff.deliveryReceipt ? 'requested' : 'not-requested',
    };
    const identity = this.identities[protocol]?.();
    const transport = this.route(protocol);
    const job = this.job(protocol, identity, msg, eff, dropped, options);
    const outbox = identity ? this.outbox : undefined;
    const base = { protocol, receipts, queued: false as boolean, savedToSent: false };
    let delivery: Delivery;
    try {
      delivery = await transport.send(job, options.signal);
    } catch (err) {
      try {
        // An abort by the caller is not queued; an unknown outcome is kept held whatever ended it.
        const keeping = outbox && (!options.signal?.aborted || policyModule().classify(err) === 'unknown');
        const kept = keeping ? await this.keep(outbox, job, err, msg.subject).catch((e) => noteUnkept(err, e)) : undefined;
        if (!kept) throw err;
        warnings.push(kept.warning);
        return {
          ...base,
          messageId: kept.entry.messageId,
          accepted: [],
          rejected: kept.rejected,
          rejectedDetails: kept.rejectedDetails,
          warnings,
          queued: true,
          outboxId: kept.entry.id,
          queuedRecipients: kept.entry.envelope.to,
          ...(job.envelopeId() ? { envelopeId: job.envelopeId() } : {}),
        };
      } finally {
        await job.disposeComposed();
      }
    }
    try {
      warnings.push(...delivery.warnings);
      if (eff.deliveryReceipt && !delivery.dsnOffered) {
        receipts.delivery = 'unsupported-by-server';
        warnings.push(warning('DELIVERY_RECEIPT_UNSUPPORTED', text('DELIVERY_RECEIPT_UNSUPPORTED')));
      } else if (eff.deliveryReceipt && protocol === 'managed') {
        // MAIL FROM is the relay's assigned address: the reports go there, never to the user.
        receipts.delivery = 'to-relay';
        warnings.push(warning('DELIVERY_RECEIPT_TO_RELAY', text('DELIVERY_RECEIPT_TO_RELAY')));
      }
      // A 4xx for some recipients: with an outbox, only those are queued (MESSAGE_QUEUED); the others have it.
      const refused = delivery.rejectedDetails.filter((r) => r.permanent).map((r) => r.address);
      const deferred = delivery.rejectedDetails.filter((r) => !r.permanent);
      const unexplained = delivery.rejected.filter((a) => !delivery.rejectedDetails.some((r) => r.address === a));
      if (refused.length || unexplained.length) {
        const list = [...refused, ...unexplained].join(', ');
        warnings.push(warning('RECIPIENTS_REJECTED', text('RECIPIENTS_REJECTED', { list })));
      }
      if (deferred.length && !outbox) {
        warnings.push(warning('RECIPIENTS_DEFERRED', text('RECIPIENTS_DEFERRED', { list: deferred.map((d) => d.address).join(', ') })));
      }
      // The ENVID only went out when a delivery receipt was asked for and the server offers DSN.
      const envelopeId = eff.deliveryReceipt && delivery.dsnOffered ? delivery.envelopeId : undefined;
      const result: SendResult = {
        ...base,
        messageId: delivery.messageId,
        accepted: delivery.accepted,
        rejected: delivery.rejected,
        rejectedDetails: delivery.rejectedDetails.map(publicDetail),
        ...(envelopeId ? { envelopeId } : {}),
        warnings,
        savedToSent: delivery.savedToSent,
      };
      const copier = delivery.raw ? this.sentCopier(protocol) : undefined;
      let copyPending = false;
      if (copier && delivery.raw) {
        const copy = await copier(delivery.raw);
        if (copy?.saved) result.savedToSent = true;
        if (copy?.warning) {
          copyPending = !!outbox;
          warnings.push(outbox ? warning('SENT_COPY_FAILED', text('SENT_COPY_FAILED.kept', { warning: messageText(copy.warning) })) : copy.warning);
        }
      }
      if (outbox && delivery.raw && (deferred.length || copyPending)) {
        const raw = delivery.raw;
        const at = new Date().toISOString();
        // One entry: the deferred recipients (with the copy still to make, if it failed), or the copy alone.
        if (copyPending && !deferred.length) {
          await outbox.enqueue(raw, {
            protocol: protocol as 'smtp' | 'managed',
            subject: msg.subject,
            state: 'sent',
            attempt: { at, outcome: 'sent', accepted: delivery.accepted },
          });
        }
        if (deferred.length) {
          const entry = await outbox.enqueue(raw, {
            protocol: protocol as 'smtp' | 'managed',
            subject: msg.subject,
            state: 'queued',
            to: deferred.map((d) => d.address),
            attempt: {
              at,
              outcome: 'partial',
              accepted: delivery.accepted,
              deferred: deferred.map((d) => d.address),
              rejected: [...refused, ...unexplained],
              responseCode: deferred[0].responseCode,
              message: deferred[0].response,
            },
            sentCopy: copier ? (copyPending ? 'pending' : 'done') : undefined,
          });
          warnings.push(queuedWarning(entry, deferredText(deferred)));
          Object.assign(result, { queued: true, outboxId: entry.id, queuedRecipients: entry.envelope.to });
        }
      }
      return result;
    } finally {
      await job.disposeComposed();
    }
  }

  /**
   * The policy for a failed send, in one place: a transient failure before the server had the
   * message is queued (only the deferred recipients when the server refused others for good); an
   * unknown outcome is kept held for a person, and the error is thrown; a permanent one is thrown.
   */
  private async keep(outbox: Outbox, job: MailerJob, err: unknown, subject: string | undefined) {
    const klass = policyModule().classify(err);
    if (klass === 'permanent') return undefined;
    const composed = await job.compose().catch(() => undefined);
    if (!composed) return undefined;
    const facts = { code: String((err as MailError).code ?? 'ERROR'), responseCode: (err as MailError).responseCode, message: (err as Error).message };
    const protocol = job.protocol as 'smtp' | 'managed';
    if (klass === 'unknown') {
      const entry = await outbox.enqueue(
        composed,
        {
          protocol,
          subject,
          state: 'held',
          attempt: { at: new Date().toISOString(), outcome: 'unknown', ...facts },
          reason: text('outbox.reason.unknown'),
        },
        err as MailError,
      );
      if (err && typeof err === 'object') Object.defineProperty(err, 'outboxId', { value: entry.id, enumerable: true });
      return undefined;
    }
    // All recipients refused at RCPT: the 5xx ones for good, the 4xx ones later.
    // (The transport puts the refused recipients on the error: MailError.rejectedDetails.)
    const rejectedDetails = ((err as MailError).rejectedDetails ?? []).map(publicDetail);
    const later = rejectedDetails.filter((r) => !r.permanent).map((r) => r.address);
    const to = rejectedDetails.length ? later : composed.envelope.to;
    if (!to.length) return undefined;
    const entry = await outbox.enqueue(
      composed,
      { protocol, subject, state: 'queued', to, attempt: { at: new Date().toISOString(), outcome: 'transient', ...facts } },
      err as MailError,
    );
    return {
      entry,
      rejected: rejectedDetails.filter((r) => r.permanent).map((r) => r.address),
      rejectedDetails,
      warning: queuedWarning(entry, failureText(err)),
    };
  }

  /** One send's job: the message, its options, and its composition made once on first use. */
  private job(
    protocol: Protocol,
    identity: Identity | undefined,
    msg: NormalizedMessage,
    eff: Effective,
    dropped: Set<Feature>,
    options: SendOptions,
  ): MailerJob {
    let composed: Promise<ComposedMessage> | undefined;
    let envelopeId: string | undefined;
    return {
      envelopeId: () => envelopeId,
      disposeComposed: async () => {
        const c = await composed?.catch(() => undefined);
        await c?.dispose();
      },
      protocol,
      message: msg,
      effective: eff,
      dropped,
      dialog: options.dialog,
      parentWindow: options.parentWindow,
      deadlineMs: options.deadlineMs,
      compose: (signal) => {
        if (!identity) return Promise.reject(new TypeError(`send (${protocol}): this protocol does not compose MIME`));
        return (composed ??= composeModule()
          .composeMessage(composeModule().composeMail(msg, identity, eff, dropped), this.outbox?.store.tmp, signal)
          .then((c) => {
            envelopeId = c.dsn?.id;
            return c;
          }));
      },
    };
  }

  /** From, Reply-To and the read-receipt address, as each protocol decides them. */
  private identity(protocol: Protocol): Identity {
    if (protocol === 'managed') {
      const email = this.requireEmail(protocol);
      const relay = this.managedRelay();
      return {
        from: { name: this.settings.label ?? '', address: relay.assignedAddress },
        replyTo: { name: this.settings.label ?? '', address: email },
        receiptsTo: email,
      };
    }
    const smtp = this.requireSmtp();
    const email = this.settings.email as string;
    return {
      from: { name: smtp.senderName ?? this.settings.label ?? '', address: email },
      replyTo: smtp.replyTo ? { name: '', address: smtp.replyTo } : undefined,
      // The user is the envelope sender (Return-Path): RFC 8098 clients send the receipt without
      // asking only when Disposition-Notification-To is that same address, not the reply address.
      receiptsTo: email,
    };
  }

  async verify(options: { protocol?: Protocol } = {}): Promise<VerifyResult> {
    const protocol = this.chooseProtocol(options.protocol);
    if (protocol === 'mapi') {
      const mapi = this.route('mapi') as MapiTransport;
      const loaded = mapi.native();
      if (!loaded.binding) {
        throw new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.unavailable', { op: 'verify', reason: loaded.reason }), {
          protocol,
          hint: text('MAPI_UNAVAILABLE.hint.useSmtp'),
        });
      }
      return { protocol, interface: this.settings.mapi?.interface ?? 'simple', warnings: [...this.settingsWarnings] };
    }
    const result = await (this.route(protocol) as SmtpTransport).verify();
    return { ...result, warnings: [...this.settingsWarnings, ...result.warnings] };
  }

  close(): Promise<void> {
    const closeTransports = () => {
      for (const t of this.routes.values()) t.close?.();
      this.routes.clear();
    };
    if (!this.outbox?.busy) {
      void this.outbox?.close();
      closeTransports();
      return Promise.resolve();
    }
    // A retry in progress finishes (its entry updated) before its connection is closed.
    return this.outbox.close().then(closeTransports);
  }

  /** What console.log, util.inspect and JSON.stringify show: never a password, token or the relay's credentials. */
  toJSON(): object {
    return { protocol: this.protocol, settings: maskSecrets(this.settings) };
  }

  [inspect.custom](): string {
    return `Mailer ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}
