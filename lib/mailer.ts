/**
 * createMailer: the user's effective settings, the protocol choice, the capability rule, and the
 * one road every message travels: validate -> capability check -> transport -> result.
 */
import { Feature, checkCapabilities, Origin, protocolKey, ProtocolKey, requestedFeatures, UnsupportedPolicy } from './capabilities';
import { asMailError, localizeError, localizeWarning, MailError, MailWarning, Protocol, warning } from './errors';
import { text } from './i18n';
import { NormalizedMessage, MailMessage, validateMessage } from './message';
import { SendResult, SmtpVerifyResult } from './result';
import { inspect } from 'node:util';
import { EffectiveSettings, maskSecrets, resolveSettings, SettingsInput, UserMailSettings } from './settings';
import type { ComposedMessage, Effective, Identity } from './transports/compose';
import type * as ComposeModule from './transports/compose';
import { ManagedRelay, MANAGED_HINT, relayEndpoint, resolveRelay } from './transports/managed';
import type { MapiSendOptions, MapiTransport } from './transports/mapi';
import type * as MapiModule from './transports/mapi';
import { DEADLINE_BOUNDS } from './transports/send-control';
import type { SmtpTransport } from './transports/smtp';
import type * as SmtpModule from './transports/smtp';
import { lazy } from './lazy';

/* eslint-disable @typescript-eslint/no-require-imports */
// The transports (and nodemailer behind them) load with the first send or verify: require('oxymail') stays fast.
const smtpModule = lazy(() => require('./transports/smtp') as typeof SmtpModule);
const mapiModule = lazy(() => require('./transports/mapi') as typeof MapiModule);
const composeModule = lazy(() => require('./transports/compose') as typeof ComposeModule);
/* eslint-enable @typescript-eslint/no-require-imports */
import type { Delivery, SendJob, Transport } from './transports/transport';
import { createTokenSource, OnTokens, TokenSource } from './oauth/token-source';

/** Options of createMailer, given by the host application. */
export interface MailerOptions {
  /** The suite's relay for managed sending (else OXYMAIL_MANAGED_RELAY / OXYMAIL_MANAGED_FROM). */
  managed?: ManagedRelay;
  /** The application's local settings, layered over the user's general ones. */
  overrides?: SettingsInput;
  /** What an explicit option the protocol cannot honour does: 'error' (default) or 'warn'. */
  unsupported?: UnsupportedPolicy;
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
  send(message: MailMessage, options?: SendOptions): Promise<SendResult>;
  verify(options?: { protocol?: Protocol }): Promise<VerifyResult>;
  close(): void;
}

const MAILER_OPTIONS = new Set(['managed', 'overrides', 'unsupported', 'onTokens', 'tokenSource', 'locale']);
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
    const mailer = new MailerImpl(resolved.settings, resolved.effective, resolved.warnings, options);
    return locale === undefined ? mailer : localized(mailer, locale);
  } catch (err) {
    throw locale === undefined ? err : localizeError(err, locale);
  }
}

/**
 * The mailer boundary in an explicit locale: what send() and verify() throw or return (message,
 * hint, problems, warnings) given again in `locale`; codes and every other field unchanged.
 */
function localized(mailer: MailerImpl, locale: string): Mailer {
  const again = <R extends { warnings: MailWarning[] }>(call: Promise<R>): Promise<R> =>
    call.then(
      (r) => ({ ...r, warnings: r.warnings.map((w) => localizeWarning(w, locale)) }),
      (err) => Promise.reject(localizeError(err, locale)),
    );
  const send = mailer.send.bind(mailer);
  const verify = mailer.verify.bind(mailer);
  mailer.send = (message, options) => again(send(message, options));
  mailer.verify = (options) => again(verify(options));
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

  constructor(
    settings: UserMailSettings,
    readonly effectiveSettings: EffectiveSettings,
    private readonly settingsWarnings: MailWarning[],
    options: MailerOptions,
  ) {
    this.#settings = settings;
    this.#options = options;
    this.protocol = settings.customize ? (settings.protocol as Protocol) : 'managed';
    this.policy = options.unsupported ?? 'error';
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
    if (this.relay === undefined) this.relay = resolveRelay(this.options.managed) ?? null;
    if (!this.relay) {
      throw new MailError('MANAGED_NOT_CONNECTED', text('MANAGED_NOT_CONNECTED'), {
        protocol: 'managed',
        hint: MANAGED_HINT,
      });
    }
    return this.relay;
  }

  /** The transport of a protocol, made on first use. */
  private route(protocol: Protocol): Transport {
    let t = this.routes.get(protocol);
    if (!t) {
      if (protocol === 'managed') t = new (smtpModule().SmtpTransport)(relayEndpoint(this.managedRelay()), 'managed');
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
    return createTokenSource({ oauth2: smtp.oauth2, user: smtp.username ?? (this.settings.email as string), onTokens: this.options.onTokens });
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
    let delivery: Delivery;
    try {
      delivery = await transport.send(job, options.signal);
    } finally {
      // The composed bytes (a temp file when attachments were streamed into it) are not kept.
      await job.disposeComposed();
    }
    warnings.push(...delivery.warnings);
    if (eff.deliveryReceipt && !delivery.dsnOffered) {
      receipts.delivery = 'unsupported-by-server';
      warnings.push(warning('DELIVERY_RECEIPT_UNSUPPORTED', text('DELIVERY_RECEIPT_UNSUPPORTED')));
    } else if (eff.deliveryReceipt && protocol === 'managed') {
      // MAIL FROM is the relay's assigned address: the reports go there, never to the user.
      receipts.delivery = 'to-relay';
      warnings.push(warning('DELIVERY_RECEIPT_TO_RELAY', text('DELIVERY_RECEIPT_TO_RELAY')));
    }
    const refused = delivery.rejectedDetails.filter((r) => r.permanent).map((r) => r.address);
    const deferred = delivery.rejectedDetails.filter((r) => !r.permanent).map((r) => r.address);
    const unexplained = delivery.rejected.filter((a) => !delivery.rejectedDetails.some((r) => r.address === a));
    if (refused.length || unexplained.length) {
      const list = [...refused, ...unexplained].join(', ');
      warnings.push(warning('RECIPIENTS_REJECTED', text('RECIPIENTS_REJECTED', { list })));
    }
    if (deferred.length) {
      warnings.push(warning('RECIPIENTS_DEFERRED', text('RECIPIENTS_DEFERRED', { list: deferred.join(', ') })));
    }
    // The ENVID only went out when a delivery receipt was asked for and the server offers DSN.
    const envelopeId = eff.deliveryReceipt && delivery.dsnOffered ? delivery.envelopeId : undefined;
    return {
      protocol,
      messageId: delivery.messageId,
      accepted: delivery.accepted,
      rejected: delivery.rejected,
      rejectedDetails: delivery.rejectedDetails.map(({ address, responseCode, permanent }) => ({
        address,
        ...(responseCode !== undefined ? { responseCode } : {}),
        permanent,
      })),
      ...(envelopeId ? { envelopeId } : {}),
      receipts,
      warnings,
      savedToSent: delivery.savedToSent,
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
  ): SendJob & { disposeComposed(): Promise<void> } {
    let composed: Promise<ComposedMessage> | undefined;
    return {
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
      compose: () => {
        if (!identity) return Promise.reject(new TypeError(`send (${protocol}): this protocol does not compose MIME`));
        return (composed ??= composeModule().composeMessage(composeModule().composeMail(msg, identity, eff, dropped)));
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

  close(): void {
    for (const t of this.routes.values()) t.close?.();
    this.routes.clear();
  }

  /** What console.log, util.inspect and JSON.stringify show: never a password, token or the relay's credentials. */
  toJSON(): object {
    return { protocol: this.protocol, settings: maskSecrets(this.settings) };
  }

  [inspect.custom](): string {
    return `Mailer ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}
