/**
 * The SMTP path (also used by the managed relay): nodemailer's pooled SMTP transport configured
 * from the settings, with the pitfalls REFERENCE.md lists closed (port 25 by default, login
 * forced when credentials are set, TLS mode checked against the port), and every nodemailer
 * error mapped to a stable code with a hint.
 */
import * as os from 'node:os';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { needsSmtpUtf8, normalizeAddress } from '../address';
import type { SMTPPoolOptions, Transporter } from 'nodemailer';
import { MailError, MailWarning, Protocol, RejectedRecipient } from '../errors';
import { Text, text } from '../i18n';
import { nodemailer, smtpConnection } from '../lazy';
import type { SmtpVerifyResult } from '../result';
import { isEhloName, isGmailHost, isLoopback, SmtpEndpoint } from '../settings';
import { verifySmtp } from './smtp-verify';
import type { TokenSource } from '../oauth/token-source';
import { NO_DEFAULTS, openComposed, refuseGadgets, withOwnKeys } from './compose';
import { DEFAULT_DEADLINE_MS, SendControl, SendGate } from './send-control';
import type { ComposedMessage, Delivery, SendJob, Transport } from './transport';

export type { SmtpEndpoint, SmtpVerifyResult };

/**
 * The EHLO name when smtp.name is not set: the machine's name when it is fully qualified (a valid
 * domain name with a dot), else the address literal [127.0.0.1], which RFC 5321 allows when the
 * client has no meaningful name (a bare Windows machine name such as DESKTOP-4F2K is not one).
 */
export function defaultEhloName(hostname: string = safeHostname()): string {
  const name = hostname.trim().toLowerCase().replace(/\.$/, '');
  return isEhloName(name) && name.includes('.') && !name.startsWith('[') ? name : '[127.0.0.1]';
}

function safeHostname(): string {
  try {
    return os.hostname();
  } catch {
    return '';
  }
}

/** The transport options nodemailer reads (see poolOptions). */
const TRANSPORT_KEYS = [
  'service',
  'url',
  'proxy',
  'socket',
  'connection',
  'secured',
  'localAddress',
  'logger',
  'debug',
  'transactionLog',
  'lmtp',
  'authMethod',
  'customAuth',
  'dnsTimeout',
  'greetingTimeout',
  'connectionTimeout',
  'socketTimeout',
  'socketCloseTimeout',
  'maxMessages',
  'rateDelta',
  'rateLimit',
  'getSocket',
  'component',
  'disableFileAccess',
  'disableUrlAccess',
  'servername',
  'idleTimeout',
  'maxResponseSize',
  'allowInternalNetworkInterfaces',
  'opportunisticTLS',
  'auth',
  'forceAuth',
  'requireTLS',
  'ignoreTLS',
  'secure',
  'name',
] as const;

/** Connections of the pool to one endpoint. */
const POOL_CONNECTIONS = 5;

/** nodemailer pool options for an endpoint. Exported for tests and the benchmark. */
export function poolOptions(e: SmtpEndpoint, tokens?: TokenSource): SMTPPoolOptions {
  const hasCredentials = e.username !== undefined || tokens !== undefined;
  const options: SMTPPoolOptions = {
    pool: true,
    maxConnections: POOL_CONNECTIONS,
    // nodemailer requeues a message whose connection closed before it was read (a reused
    // connection the server dropped, or a close before the greeting): once is enough for the
    // first case, and the second then fails instead of retrying with backoff until the deadline.
    maxRequeues: 1,
    host: e.host,
    port: e.port,
    secure: e.security === 'tls' || (e.security === 'auto' && e.port === 465),
    // With credentials and a remote host, opportunistic STARTTLS is not enough: a server (or a
    // man in the middle) that hides STARTTLS would receive the password in clear text.
    requireTLS: e.security === 'starttls' || (e.security === 'auto' && hasCredentials && !isLoopback(e.host) && !e.allowInsecureAuth),
    ignoreTLS: e.security === 'none',
    tls: e.tls ? { ...e.tls } : undefined,
    name: e.name ?? defaultEhloName(),
  };
  if (e.timeoutMs) {
    options.connectionTimeout = e.timeoutMs;
    options.greetingTimeout = e.timeoutMs;
    options.socketTimeout = e.timeoutMs;
  }
  if (hasCredentials) {
    // nodemailer skips the login silently when the server does not advertise AUTH.
    options.forceAuth = true;
    // A token source: no token here, nodemailer asks for one per connection (oauth2_provision_cb).
    // (Own keys for everything nodemailer's XOAuth2 reads: a polluted prototype gives it no token.)
    options.auth = tokens
      ? withOwnKeys({ type: 'OAuth2', user: tokens.user } as NonNullable<SMTPPoolOptions['auth']>, XOAUTH2_KEYS)
      : e.accessToken !== undefined
        ? { type: 'OAuth2', user: e.username, accessToken: e.accessToken }
        : { user: e.username, pass: e.password };
  }
  // Certificates are verified unless the settings say otherwise, as an own property: a
  // `tls` or `rejectUnauthorized` on a polluted Object.prototype must not turn verification off.
  options.tls = { ...(e.tls ?? {}), rejectUnauthorized: e.tls?.rejectUnauthorized !== false };
  // Every other option nodemailer reads is set as an own property too, for the same reason.
  return withOwnKeys(options, TRANSPORT_KEYS);
}

/** What nodemailer's XOAuth2 reads from `auth` besides type and user. */
const XOAUTH2_KEYS = [
  'accessToken',
  'refreshToken',
  'clientId',
  'clientSecret',
  'serviceClient',
  'privateKey',
  'expires',
  'accessUrl',
  'timeout',
  'provisionCallback',
  'customHeaders',
  'customParams',
  'method',
  'pass',
];

/** The error nodemailer gets when the server answered 334 with an error JSON: the token was refused. */
const REFUSED = 'the server refused the OAuth2 access token (334 with an error)';

/**
 * Gives nodemailer's connections their XOAUTH2 token from the token source. A failure of the source
 * (sign-in required, provider unreachable) is kept aside, so the send raises it as it is rather than
 * as the EAUTH nodemailer would make of it.
 */
export function provisioner(tokens: TokenSource, failures: WeakMap<object, unknown>) {
  return (_user: string, renew: boolean, callback: (err: Error | null, token?: string) => void) => {
    // renew: the server refused the token; the send fails and is retried on a new connection.
    if (renew) return callback(new Error(REFUSED));
    tokens.getAccessToken().then(
      (token) => callback(null, token),
      (err) => {
        const carrier = new Error('the OAuth2 token source failed');
        failures.set(carrier, err);
        callback(carrier);
      },
    );
  };
}

/** True for a login the server refused while using an OAuth2 token (535, or 334 with an error JSON), unless SMTP AUTH itself is off (5.7.139). */
function tokenRefused(err: unknown): boolean {
  const e = err as { code?: string; command?: string; response?: string };
  return e?.code === 'EAUTH' && /XOAUTH2/i.test(e.command ?? '') && !/5\.7\.139/.test(e.response ?? '');
}

/** The key under which a send's SendControl travels in nodemailer's mail data, for the stream plugin. */
const CONTROL_KEY = 'oxymailSendControl';

/** What a person can do when the outcome of a send is unknown. */
export const DELIVERY_UNKNOWN_HINT = text('SMTP_DELIVERY_UNKNOWN.hint');

/** A pooled SMTP connection to one endpoint, opened on first use. */
export class SmtpTransport implements Transport {
  readonly name: string;
  private transporter?: Transporter;
  /** Sends in flight: close() ends them. */
  private readonly pending = new Set<SendControl>();
  /** Sends composing or in nodemailer's pool: twice its connections (see SendGate). */
  private readonly gate = new SendGate(2 * POOL_CONNECTIONS);
  /** Failures of the token source, by the error nodemailer was handed instead. */
  private readonly tokenFailures = new WeakMap<object, unknown>();

  /** `tokens`: OAuth2 credentials (smtp.oauth2); the transport asks them for tokens and never sees the store. */
  constructor(
    private readonly endpoint: SmtpEndpoint,
    private readonly protocol: Protocol,
    private readonly tokens?: TokenSource,
  ) {
    this.name = protocol;
  }

  /**
   * Runs `attempt` with OAuth2 credentials: the token is obtained first (nothing is sent when it
   * cannot be), and a token the server refuses is refreshed once and the attempt made once more,
   * on a new connection (nodemailer drops a connection whose login failed).
   */
  private async withToken<T>(attempt: () => Promise<T>, race: <U>(p: Promise<U>) => Promise<U>, signal?: AbortSignal): Promise<T> {
    const tokens = this.tokens;
    if (!tokens) return attempt();
    await race(tokens.getAccessToken({ signal }));
    try {
      return await attempt();
    } catch (err) {
      if (this.tokenFailures.has(err as object) || !tokenRefused(err)) throw err;
      await race(tokens.getAccessToken({ forceRefresh: true, signal }));
      return attempt();
    }
  }

  /** The token source's own error when nodemailer failed because of it. */
  private tokenFailure(err: unknown): unknown {
    return err && typeof err === 'object' ? this.tokenFailures.get(err) : undefined;
  }

  private get pool(): Transporter {
    if (!this.transporter) {
      const transporter = nodemailer().createTransport(poolOptions(this.endpoint, this.tokens), NO_DEFAULTS);
      if (this.tokens) transporter.set('oauth2_provision_cb', provisioner(this.tokens, this.tokenFailures));
      this.transporter = transporter;
    }
    return this.transporter;
  }

  /**
   * Sends the composed message (its exact bytes, envelope and DSN parameters); resolves with what
   * the server said. The send ends at the caller's signal, at the overall deadline, or at close();
   * after the whole message went out, any of these (or a dropped connection) is
   * SMTP_DELIVERY_UNKNOWN, never a plain failure.
   */
  async send(job: SendJob, signal?: AbortSignal): Promise<Delivery> {
    // nodemailer merges the `tls` and `auth` options into `{}.tls` / `{}.auth`: with those on a
    // polluted Object.prototype, it would merge our certificate rules and credentials into the
    // prototype itself (shared by every object) and use what another transport left there.
    refuseGadgets(['tls', 'auth'], text('INTERNAL.why.smtp'));
    const control = new SendControl(job.deadlineMs ?? this.endpoint.deadlineMs ?? DEFAULT_DEADLINE_MS, signal);
    this.pending.add(control);
    // Every recipient refused, and then the send ended by us (a server that took DATA anyway and
    // never answers the empty message nodemailer ends it with): the refusal is the outcome.
    let refused: Error | undefined;
    control.beforeEnd = () => (refused = everyRecipientRefused(this.transporter, control));
    let messageId: string | undefined;
    const turn = this.gate.enter();
    try {
      // Waiting for its turn, composing and sending: the deadline, the caller's abort and close() end each.
      await control.race(turn.ready);
      const composed = await control.race(job.compose(control.signal));
      messageId = composed.messageId;
      // SIZE: the exact size of the composed bytes. nodemailer declares it on MAIL FROM when the
      // server advertises SIZE, and refuses before MAIL FROM (nothing uploaded) above its limit.
      const envelopeAddresses = wireEnvelope(composed.envelope);
      if ([envelopeAddresses.from, ...envelopeAddresses.to].some(needsSmtpUtf8)) await control.race(this.requireSmtpUtf8(envelopeAddresses));
      // A fresh stream of the same bytes for each attempt (a retry after a refused token).
      const attempt = () => handOver(this.pool, composed, envelopeAddresses, control);
      const info = await this.withToken(attempt, (p) => control.race(p), control.signal);
      return {
        messageId: composed.messageId,
        envelopeId: composed.dsn?.id,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        rejectedDetails: rejectedDetails(info.rejectedErrors),
        raw: composed,
        savedToSent: false,
        warnings: [],
        dsnOffered: Array.isArray(info.ehlo) && info.ehlo.some((l: string) => /^DSN\b/i.test(l)),
        response: info.response,
      };
    } catch (err) {
      if (err instanceof MailError) throw err;
      const failure = this.tokenFailure(err);
      if (failure) throw failure;
      if (refused && !control.messageWritten) throw mapSmtpError(refused, this.endpoint, this.protocol, 'send', !!this.tokens);
      throw mapSendError(err, control, this.endpoint, this.protocol, messageId, !!this.tokens);
    } finally {
      turn.leave();
      control.dispose();
      this.pending.delete(control);
    }
  }

  /** Whether the server offers SMTPUTF8, once asked (EHLO after STARTTLS, as a send would see it). */
  private smtpUtf8?: Promise<boolean>;

  /**
   * An address with a non-ASCII local part goes out only to a server that offers SMTPUTF8: the
   * server's EHLO reply is read once on a connection of its own (connect, STARTTLS, EHLO, QUIT).
   */
  private async requireSmtpUtf8(envelope: { from: string; to: string[] }): Promise<void> {
    this.smtpUtf8 ??= ehloOffers(this.endpoint, 'SMTPUTF8').catch((err) => {
      this.smtpUtf8 = undefined;
      throw mapSmtpError(err, this.endpoint, this.protocol, 'send');
    });
    if (await this.smtpUtf8) return;
    const which = [envelope.from, ...envelope.to].filter(needsSmtpUtf8);
    throw new MailError(
      'SMTP_UTF8_UNSUPPORTED',
      text(which.length > 1 ? 'SMTP_UTF8_UNSUPPORTED.several' : 'SMTP_UTF8_UNSUPPORTED', {
        where: `send (SMTP ${this.endpoint.host}:${this.endpoint.port})`,
        addresses: which.join(', '),
      }),
      {
        protocol: this.protocol,
        hint: text('SMTP_UTF8_UNSUPPORTED.hint'),
      },
    );
  }

  /** Connects, negotiates TLS and authenticates; sends nothing (see smtp-verify.ts). */
  async verify(): Promise<SmtpVerifyResult> {
    refuseGadgets(['tls', 'auth'], text('INTERNAL.why.smtp'));
    const tokens = this.tokens;
    const once = () => verifySmtp(this.endpoint, this.protocol, tokens && { tokens, failures: this.tokenFailures });
    if (!tokens) return once();
    await tokens.getAccessToken();
    try {
      return await once();
    } catch (err) {
      // The login refused the token (not SMTP AUTH itself, 5.7.139): refresh once, try a new connection.
      if (!(err instanceof MailError) || err.code !== 'SMTP_AUTH' || /5\.7\.139/.test(err.message)) throw err;
      await tokens.getAccessToken({ forceRefresh: true });
      return once();
    }
  }

  /** Ends every pending send (SMTP_DELIVERY_UNKNOWN where the message was already sent) and closes the connections. */
  close(): void {
    for (const control of this.pending) control.end('closed');
    this.transporter?.close();
    this.transporter = undefined;
  }
}

/**
 * The error nodemailer gives when every recipient was refused, when the send that `control` ends
 * is on a pooled connection whose server refused every RCPT TO (each has its reply); else
 * undefined. nodemailer keeps these facts on the connection only (`_envelope`) and forgets them
 * when the send is aborted: they are read just before. (A change of these internals in nodemailer
 * fails the fault-table row "every RCPT refused, 354 to DATA, then silence".)
 */
function everyRecipientRefused(transporter: Transporter | undefined, control: SendControl): Error | undefined {
  type Envelope = { to?: unknown[]; accepted?: unknown[]; rejected?: unknown[]; rejectedErrors?: { responseCode?: number; response?: string }[] };
  const pool = (transporter as unknown as { transporter?: { _connections?: unknown[] } } | undefined)?.transporter;
  for (const resource of pool?._connections ?? []) {
    const r = resource as { queueEntry?: { mail?: { data?: Record<string, unknown> } }; connection?: { _envelope?: Envelope } };
    if (r?.queueEntry?.mail?.data?.[CONTROL_KEY] !== control) continue;
    const e = r.connection?._envelope;
    const errors = Array.isArray(e?.rejectedErrors) ? e.rejectedErrors : [];
    if (!e || !Array.isArray(e.to) || !Array.isArray(e.accepted) || e.accepted.length || !errors.length || errors.length !== e.to.length) return undefined;
    // As nodemailer reports it: a temporary refusal first, so that a deferred recipient is not taken for a permanent failure.
    const shown = errors.find((x) => typeof x.responseCode === 'number' && x.responseCode < 500) ?? errors[errors.length - 1];
    return Object.assign(new Error("Can't send mail - all recipients were rejected"), {
      code: 'EENVELOPE',
      command: 'RCPT TO',
      response: shown.response,
      responseCode: shown.responseCode,
      rejected: e.rejected,
      rejectedErrors: errors,
    });
  }
  return undefined;
}

/** What nodemailer's SMTP connection reads on an envelope besides from and to: own keys (see poolOptions). */
const ENVELOPE_KEYS = ['cc', 'bcc', 'size', 'dsn', 'use8BitMime', 'requireTLSExtensionEnabled'];

/** The part of nodemailer's pool (SMTPPool) a composed message is handed to. */
interface PoolInternals {
  send(mail: unknown, callback: (err: Error | null, info: SMTPPool.SentMessageInfo) => void): unknown;
}

/**
 * Hands the composed bytes to nodemailer's pool as they are. Through sendMail, nodemailer would
 * wrap them in a mail message, compile a MIME node around them and run its plugins, for each send,
 * only to give its pool the same three things: the envelope, the Message-ID and a stream of the
 * bytes (SMTPPool.send and its connections read nothing else of a message; the pool still queues,
 * requeues, watches the signal and reports as for any message). The stream's end marks the message
 * written (see SendControl.messageWritten): the connection writes the terminating "." as soon as
 * the stream ends, so a drop after it leaves the outcome unknown.
 */
function handOver(
  transporter: Transporter,
  composed: ComposedMessage,
  wire: { from: string; to: string[] },
  control: SendControl,
): Promise<SMTPPool.SentMessageInfo> {
  const pool = (transporter as unknown as { transporter?: Partial<PoolInternals> }).transporter;
  // nodemailer's transport interface (a transport's send(mail, callback)): any pool has it.
  if (typeof pool?.send !== 'function') return Promise.reject(new TypeError('nodemailer: the SMTP pool has no send(mail, callback)'));
  // As nodemailer's MIME node keeps an envelope: no empty sender, each recipient once.
  const to = [...new Set(wire.to)];
  const data = withOwnKeys({ signal: control.signal, dsn: composed.dsn, [CONTROL_KEY]: control } as Record<string, unknown>, ['requireTLSExtensionEnabled']);
  const message = {
    // A fresh envelope each time: the connection adds the DSN parameters to it.
    getEnvelope: () => withOwnKeys({ from: wire.from || false, to: [...to], size: composed.size } as Record<string, unknown>, ENVELOPE_KEYS),
    messageId: () => composed.messageId,
    getHeader: (key: string) => (key.toLowerCase() === 'message-id' ? composed.messageId : undefined),
    // One fresh stream per attempt (a requeue after a dropped connection reads the bytes again).
    createReadStream: () => {
      const stream = openComposed(composed);
      stream.once('end', () => {
        control.messageWritten = true;
      });
      return stream;
    },
  };
  return new Promise((resolve, reject) => {
    (pool as PoolInternals).send({ data, message }, (err, info) => (err ? reject(err) : resolve(info)));
  });
}

/** The envelope as it goes on the wire: IDN domains in punycode (an address that cannot be is left for the server to refuse). */
function wireEnvelope(e: { from: string; to: string[] }): { from: string; to: string[] } {
  const wire = (a: string) => {
    const n = a ? normalizeAddress(a) : a;
    return typeof n === 'string' ? n : a;
  };
  return { from: wire(e.from), to: e.to.map(wire) };
}

/** Whether the server's EHLO reply (after STARTTLS when it is used) lists `keyword`. */
function ehloOffers(e: SmtpEndpoint, keyword: string): Promise<boolean> {
  const { pool: _pool, maxConnections: _max, maxRequeues: _requeues, ...single } = poolOptions(e);
  const Connection = smtpConnection();
  const connection = new Connection(single as SMTPConnection.Options);
  return new Promise<boolean>((resolve, reject) => {
    connection.on('error', reject);
    connection.connect((err?: Error | null) => {
      if (err) return reject(err);
      const reply = typeof connection.lastServerResponse === 'string' ? connection.lastServerResponse : '';
      resolve(reply.split(/\r?\n/).some((line) => new RegExp(`^250[ -]${keyword}\\b`, 'i').test(line)));
      connection.quit();
    });
  });
}

/**
 * The recipients a failed send had refused, for MailError.rejectedDetails: every error the
 * transport raises carries them when nodemailer reported any (all refused at RCPT, or refused
 * before another failure), so the policy above reads them there and nowhere else.
 */
function refusals(err: unknown): { rejectedDetails?: RejectedRecipient[] } {
  const details = rejectedDetails((err as { rejectedErrors?: unknown } | undefined)?.rejectedErrors);
  return details.length ? { rejectedDetails: details } : {};
}

/** Per-recipient refusals from nodemailer's rejectedErrors. */
export function rejectedDetails(errors: unknown): RejectedRecipient[] {
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e) => e && typeof e.recipient === 'string')
    .map((e) => ({
      address: String(e.recipient),
      ...(typeof e.responseCode === 'number' ? { responseCode: e.responseCode } : {}),
      permanent: typeof e.responseCode === 'number' ? e.responseCode >= 500 : e.permanent !== false,
    }));
}

/**
 * Maps the failure of one send: after the whole message went out without a reply, the outcome is
 * unknown whatever ended the connection; otherwise our own end (abort, deadline, close) names
 * itself, and the rest is the server's or the network's doing.
 */
export function mapSendError(err: unknown, control: SendControl, e: SmtpEndpoint, protocol: Protocol, messageId?: string, oauth2 = false): MailError {
  redactError(err, e);
  const ne = err as { responseCode?: number; message?: string; code?: string };
  const where = `send (SMTP ${e.host}:${e.port})`;
  const replied = typeof ne.responseCode === 'number';
  const base = { protocol, cause: err, messageId, ...refusals(err) };
  if (control.messageWritten && !replied) {
    const why =
      control.reason === 'deadline'
        ? text('SMTP_DELIVERY_UNKNOWN.deadline', { ms: control.deadlineMs })
        : control.reason === 'aborted'
          ? text('SMTP_DELIVERY_UNKNOWN.aborted')
          : control.reason === 'closed'
            ? text('SMTP_DELIVERY_UNKNOWN.closed')
            : text('SMTP_DELIVERY_UNKNOWN.ended', { error: ne.message ?? String(err) });
    return new MailError('SMTP_DELIVERY_UNKNOWN', text(messageId ? 'SMTP_DELIVERY_UNKNOWN.messageId' : 'SMTP_DELIVERY_UNKNOWN', { where, why, messageId }), {
      ...base,
      deliveryUnknown: true,
      hint: DELIVERY_UNKNOWN_HINT,
    });
  }
  if (control.reason === 'deadline') {
    return new MailError('SMTP_TIMEOUT', text('SMTP_TIMEOUT.deadline', { where, ms: control.deadlineMs }), {
      ...base,
      hint: text('SMTP_TIMEOUT.hint.deadline', { host: e.host, port: e.port }),
    });
  }
  if (control.reason === 'closed') {
    return new MailError('MAILER_CLOSED', text('MAILER_CLOSED', { where }), base);
  }
  if (control.reason === 'aborted') return new MailError('ABORTED', text('ABORTED.notSent', { where }), base);
  return mapSmtpError(err, e, protocol, 'send', oauth2);
}

/** Hints for a refused XOAUTH2 login, one place per case (5.7.139: SMTP AUTH off for the mailbox or tenant). */
export const XOAUTH2_HINTS = {
  smtpAuthDisabled: text('SMTP_AUTH.hint.xoauth2Disabled'),
  refused: text('SMTP_AUTH.hint.xoauth2Refused'),
};

function authHint(response: string, e: SmtpEndpoint, oauth2 = false): Text {
  if (oauth2) return /5\.7\.139/.test(response) ? XOAUTH2_HINTS.smtpAuthDisabled : XOAUTH2_HINTS.refused;
  const google = isGmailHost(e.host) || /support\.google\.com|BadCredentials/i.test(response);
  if (/5\.7\.9|application-specific password/i.test(response) || (google && /5\.7\.8|535/.test(response))) {
    return text('SMTP_AUTH.hint.gmail');
  }
  if (/5\.7\.139|5\.7\.3\b|5\.7\.30/.test(response)) {
    return text('SMTP_AUTH.hint.microsoft365');
  }
  return text('SMTP_AUTH.hint');
}

function tlsHint(e: SmtpEndpoint, detail: string, responseCode?: number): Text {
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    return text('SMTP_TLS.hint.temporary', { port: e.port, code: responseCode });
  }
  if (responseCode !== undefined && responseCode >= 500 && ![500, 502, 504].includes(responseCode)) {
    return text('SMTP_TLS.hint.refused', { port: e.port, code: responseCode });
  }
  if (/wrong version number|WRONG_VERSION_NUMBER/i.test(detail)) {
    return text('SMTP_TLS.hint.wrongVersion', { port: e.port });
  }
  if (/certificate|self.signed|CERT_|unable to verify/i.test(detail)) {
    return text('SMTP_TLS.hint.certificate');
  }
  if (/STARTTLS/i.test(detail) || responseCode !== undefined) {
    return text('SMTP_TLS.hint.noStarttls', { port: e.port });
  }
  return text('SMTP_TLS.hint', { port: e.port, security: e.security });
}

/** The forms of the credentials a server could echo back in a reply: the password, and the base64 AUTH lines. */
function secretForms(e: SmtpEndpoint): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const forms: string[] = [];
  const user = e.username ?? '';
  for (const secret of [e.password, e.accessToken]) {
    if (!secret) continue;
    forms.push(secret, b64(secret), b64(`\0${user}\0${secret}`), b64(`${user}\0${user}\0${secret}`), b64(`user=${user}\x01auth=Bearer ${secret}\x01\x01`));
  }
  return forms.filter((f) => f.length >= 4).sort((x, y) => y.length - x.length);
}

/**
 * Server text with every form of the credentials removed. A reply to an AUTH command loses every
 * base64 run of 8 characters or more as well: a server that echoes the line it refused may cut it
 * or re-encode it.
 */
export function redactSecrets(text: string, e: SmtpEndpoint, authReply = false): string {
  let out = text;
  for (const form of secretForms(e)) out = out.split(form).join('[redacted]');
  if (authReply)
    out = out.replace(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])/g, (m) => (/^\d+$/.test(m) || /^[a-z]+$/i.test(m) ? m : '[redacted]'));
  return out;
}

/** Redacts the nodemailer error in place, as it travels on as the MailError's cause. */
function redactError(err: unknown, e: SmtpEndpoint): void {
  if (!err || typeof err !== 'object') return;
  const ne = err as { message?: unknown; response?: unknown; command?: unknown; stack?: unknown };
  const auth = typeof ne.command === 'string' && /^AUTH/i.test(ne.command);
  for (const key of ['message', 'response', 'stack'] as const) {
    if (typeof ne[key] === 'string') {
      try {
        ne[key] = redactSecrets(ne[key] as string, e, auth);
      } catch {
        // a frozen or exotic error: its text stays out of ours below anyway
      }
    }
  }
}

const STARTTLS_FIRST = /must issue a STARTTLS|STARTTLS (?:command )?first|5\.7\.0.*(?:TLS|encryption) required|Encryption required/i;
const TOO_LARGE = /^552\b|5\.3\.4|size (?:exceeds|limit)|larger than allowed|too (?:large|big)/i;

/** Maps a nodemailer error to a MailError with a stable code, the server's reply code and a hint. */
export function mapSmtpError(err: unknown, e: SmtpEndpoint, protocol: Protocol, op: 'send' | 'verify', oauth2 = false): MailError {
  redactError(err, e);
  const ne = err as {
    code?: string;
    message?: string;
    response?: string;
    responseCode?: number;
    permanent?: boolean;
    command?: string;
  };
  const detail = `${ne.message ?? String(err)}`;
  const where = `${op} (SMTP ${e.host}:${e.port}${ne.command && ne.command !== 'API' && ne.command !== 'CONN' ? `, ${ne.command}` : ''})`;
  const permanent = typeof ne.responseCode === 'number' ? ne.responseCode >= 500 : ne.permanent;
  const base = { protocol, cause: err, responseCode: ne.responseCode, permanent, ...refusals(err) };
  const response = ne.response ?? detail;
  if (STARTTLS_FIRST.test(response) && ne.responseCode === 530) {
    return new MailError('SMTP_STARTTLS_REQUIRED', text('SMTP_STARTTLS_REQUIRED', { where, response }), {
      ...base,
      hint: e.security === 'none' ? text('SMTP_STARTTLS_REQUIRED.hint.none') : text('SMTP_STARTTLS_REQUIRED.hint'),
    });
  }
  if (ne.responseCode !== undefined && TOO_LARGE.test(response) && (ne.responseCode === 552 || /5\.3\.4/.test(response))) {
    return new MailError('SMTP_MESSAGE_TOO_LARGE', text('SMTP_MESSAGE_TOO_LARGE.refused', { where, response }), {
      ...base,
      hint: text('SMTP_MESSAGE_TOO_LARGE.hint.refused'),
    });
  }
  switch (ne.code) {
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2': {
      const temporary = typeof ne.responseCode === 'number' && ne.responseCode >= 400 && ne.responseCode < 500;
      return new MailError('SMTP_AUTH', text('SMTP_AUTH.refused', { where, response }), {
        ...base,
        hint: temporary ? text('SMTP_AUTH.hint.temporary') : authHint(response, e, oauth2),
      });
    }
    case 'ETLS':
      return new MailError('SMTP_TLS', text('SMTP_TLS.failed', { where, detail }), { ...base, hint: tlsHint(e, detail, ne.responseCode) });
    case 'ETIMEDOUT': {
      const hint = /greeting/i.test(detail) && e.port === 465 ? text('SMTP_TIMEOUT.hint.port465') : text('SMTP_TIMEOUT.hint', { host: e.host, port: e.port });
      return new MailError('SMTP_TIMEOUT', text('SMTP_TIMEOUT', { where, detail }), { ...base, hint });
    }
    case 'EENVELOPE': {
      if (ne.command === 'DATA') {
        return new MailError('SMTP_MESSAGE_REJECTED', text('SMTP_MESSAGE_REJECTED.data', { where, response }), {
          ...base,
          hint: permanent === false ? text('SMTP_MESSAGE_REJECTED.hint.temporary') : undefined,
        });
      }
      return new MailError('SMTP_REJECTED', text('SMTP_REJECTED', { where, response }), {
        ...base,
        hint: permanent === false ? text('SMTP_REJECTED.hint.temporary') : text('SMTP_REJECTED.hint'),
      });
    }
    case 'EMESSAGE':
      if (/larger than allowed/i.test(detail)) return tooLarge(detail, where, base);
      return new MailError('SMTP_MESSAGE_REJECTED', text('SMTP_MESSAGE_REJECTED', { where, response }), {
        ...base,
        hint: permanent === false ? text('SMTP_MESSAGE_REJECTED.hint.temporary') : undefined,
      });
    case 'ESTREAM':
      return new MailError('ATTACHMENT_UNREADABLE', text('ATTACHMENT_UNREADABLE.sending', { where, detail }), {
        ...base,
        hint: text('ATTACHMENT_UNREADABLE.hint.sending'),
      });
    case 'EABORT':
      return new MailError('ABORTED', text('ABORTED', { where }), base);
    case 'EPROTOCOL':
      if (/Invalid greeting/i.test(detail) && typeof ne.responseCode === 'number') {
        return new MailError('SMTP_CONNECTION', text('SMTP_CONNECTION.refused', { where, response }), {
          ...base,
          hint: ne.responseCode < 500 ? text('SMTP_CONNECTION.hint.busy') : text('SMTP_CONNECTION.hint.refused'),
        });
      }
      return new MailError('SMTP_PROTOCOL', text('SMTP_PROTOCOL', { where, detail }), base);
    default: {
      if (/wrong version number|certificate|self.signed|TLS|SSL/i.test(detail)) {
        return new MailError('SMTP_TLS', text('SMTP_TLS.failed', { where, detail }), { ...base, hint: tlsHint(e, detail) });
      }
      const hint =
        ne.code === 'EDNS' || /ENOTFOUND|EAI_AGAIN/.test(detail)
          ? text('SMTP_CONNECTION.hint.dns', { host: e.host })
          : /retries after connection was closed/i.test(detail)
            ? text('SMTP_CONNECTION.hint.closed', { host: e.host, port: e.port })
            : text('SMTP_CONNECTION.hint', { host: e.host, port: e.port });
      return new MailError('SMTP_CONNECTION', text('SMTP_CONNECTION', { where, detail }), { ...base, hint });
    }
  }
}

function tooLarge(detail: string, where: string, base: object): MailError {
  const limit = /larger than allowed (\d+)/i.exec(detail)?.[1];
  return new MailError('SMTP_MESSAGE_TOO_LARGE', limit ? text('SMTP_MESSAGE_TOO_LARGE.limit', { where, limit }) : text('SMTP_MESSAGE_TOO_LARGE', { where }), {
    ...base,
    hint: limit ? text('SMTP_MESSAGE_TOO_LARGE.hint.limit', { limit }) : text('SMTP_MESSAGE_TOO_LARGE.hint'),
  });
}
