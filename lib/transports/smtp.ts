/**
 * The SMTP path (also used by the managed relay): nodemailer's pooled SMTP transport configured
 * from the settings, with the pitfalls REFERENCE.md lists closed (port 25 by default, login
 * forced when credentials are set, TLS mode checked against the port), and every nodemailer
 * error mapped to a stable code with a hint.
 */
import * as os from 'node:os';
import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPPoolOptions, Transporter } from 'nodemailer';
import { MailError, MailWarning, Protocol, RejectedRecipient } from '../errors';
import { isEhloName, isGmailHost, isLoopback, SmtpSecurity, SmtpSettings } from '../settings';
import { ownMailOptions, rawSource, withOwnKeys } from './compose';
import { DEFAULT_DEADLINE_MS, SendControl } from './send-control';
import type { Delivery, SendJob, Transport } from './transport';

/** Where and how to connect: the user's SMTP settings or the managed relay. */
export type SmtpEndpoint = Omit<SmtpSettings, 'senderName' | 'replyTo'>;

/** What verify() found. */
export interface SmtpVerifyResult {
  protocol: Protocol;
  server: string;
  security: SmtpSecurity;
  tls: 'implicit' | 'starttls-required' | 'starttls-when-offered' | 'off';
  authenticatedAs: string | null;
  warnings: MailWarning[];
}

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

/** nodemailer pool options for an endpoint. Exported for tests and the benchmark. */
export function poolOptions(e: SmtpEndpoint): SMTPPoolOptions {
  const hasCredentials = e.username !== undefined;
  const options: SMTPPoolOptions = {
    pool: true,
    maxConnections: 5,
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
    options.auth = e.accessToken !== undefined ? { type: 'OAuth2', user: e.username, accessToken: e.accessToken } : { user: e.username, pass: e.password };
  }
  // Certificates are verified unless the settings say otherwise, as an own property: a
  // `tls` or `rejectUnauthorized` on a polluted Object.prototype must not turn verification off.
  options.tls = { ...(e.tls ?? {}), rejectUnauthorized: e.tls?.rejectUnauthorized !== false };
  // Every other option nodemailer reads is set as an own property too, for the same reason.
  return withOwnKeys(options, TRANSPORT_KEYS);
}

function tlsMode(e: SmtpEndpoint): SmtpVerifyResult['tls'] {
  const o = poolOptions(e);
  return o.secure ? 'implicit' : o.requireTLS ? 'starttls-required' : o.ignoreTLS ? 'off' : 'starttls-when-offered';
}

/** The key under which a send's SendControl travels in nodemailer's mail data, for the stream plugin. */
const CONTROL_KEY = 'oxymailSendControl';

/** What a person can do when the outcome of a send is unknown. */
export const DELIVERY_UNKNOWN_HINT =
  'The server may have the message: check (the recipients, the Sent copy or the server log, by its Message-ID) before sending it again. oxymail never sends it again by itself.';

/** A pooled SMTP connection to one endpoint, opened on first use. */
export class SmtpTransport implements Transport {
  readonly name: string;
  private transporter?: Transporter;
  /** Sends in flight: close() ends them. */
  private readonly pending = new Set<SendControl>();

  constructor(
    private readonly endpoint: SmtpEndpoint,
    private readonly protocol: Protocol,
  ) {
    this.name = protocol;
  }

  private get pool(): Transporter {
    if (!this.transporter) {
      const transporter = nodemailer.createTransport(poolOptions(this.endpoint));
      // The composed message is read by the SMTP connection, which writes the terminating "." as
      // soon as the message ends: its 'end' marks the point after which a drop leaves the outcome
      // unknown. (The connection reads the stream; nothing is buffered in between.)
      transporter.use('stream', (mail, done) => {
        const control = (mail.data as Record<string, unknown>)[CONTROL_KEY];
        if (control instanceof SendControl) {
          mail.message.processFunc((input) => {
            input.once('end', () => {
              control.messageWritten = true;
            });
            return input;
          });
        }
        done();
      });
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
    const control = new SendControl(job.deadlineMs ?? this.endpoint.deadlineMs ?? DEFAULT_DEADLINE_MS, signal);
    this.pending.add(control);
    let messageId: string | undefined;
    try {
      const composed = await control.race(job.compose());
      messageId = composed.messageId;
      // SIZE: the exact size of the composed bytes. nodemailer declares it on MAIL FROM when the
      // server advertises SIZE, and refuses before MAIL FROM (nothing uploaded) above its limit.
      const mail: SendMailOptions = { envelope: { ...composed.envelope, size: composed.size } as SendMailOptions['envelope'], raw: rawSource(composed) };
      if (composed.dsn) mail.dsn = composed.dsn;
      const envelope = mail.envelope as Record<string, unknown>;
      withOwnKeys(envelope, ['cc', 'bcc', 'size', 'dsn', 'use8BitMime', 'requireTLSExtensionEnabled']);
      const info = await this.pool.sendMail(ownMailOptions({ ...mail, signal: control.signal, [CONTROL_KEY]: control } as SendMailOptions));
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
      throw mapSendError(err, control, this.endpoint, this.protocol, messageId);
    } finally {
      control.dispose();
      this.pending.delete(control);
    }
  }

  /** Connects, negotiates TLS and authenticates; sends nothing. */
  async verify(): Promise<SmtpVerifyResult> {
    // A separate, non-pooled transport: verify() must open a connection of its own.
    const { pool: _pool, maxConnections: _max, ...single } = poolOptions(this.endpoint);
    const probe = nodemailer.createTransport(single);
    try {
      await probe.verify();
    } catch (err) {
      throw mapSmtpError(err, this.endpoint, this.protocol, 'verify');
    } finally {
      probe.close();
    }
    return {
      protocol: this.protocol,
      server: `${this.endpoint.host}:${this.endpoint.port}`,
      security: this.endpoint.security,
      tls: tlsMode(this.endpoint),
      authenticatedAs: this.endpoint.username ?? null,
      warnings: [],
    };
  }

  /** Ends every pending send (SMTP_DELIVERY_UNKNOWN where the message was already sent) and closes the connections. */
  close(): void {
    for (const control of this.pending) control.end('closed');
    this.transporter?.close();
    this.transporter = undefined;
  }
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
export function mapSendError(err: unknown, control: SendControl, e: SmtpEndpoint, protocol: Protocol, messageId?: string): MailError {
  redactError(err, e);
  const ne = err as { responseCode?: number; message?: string; code?: string };
  const where = `send (SMTP ${e.host}:${e.port})`;
  const replied = typeof ne.responseCode === 'number';
  const base = { protocol, cause: err, messageId };
  if (control.messageWritten && !replied) {
    const why =
      control.reason === 'deadline'
        ? `no answer within the send deadline of ${control.deadlineMs} ms`
        : control.reason === 'aborted'
          ? 'the send was aborted'
          : control.reason === 'closed'
            ? 'the mailer was closed'
            : `the connection ended (${ne.message ?? String(err)})`;
    return new MailError(
      'SMTP_DELIVERY_UNKNOWN',
      `${where}: ${why} after the whole message was sent and before the server answered: the server may have it${messageId ? ` (Message-ID ${messageId})` : ''}`,
      { ...base, deliveryUnknown: true, hint: DELIVERY_UNKNOWN_HINT },
    );
  }
  if (control.reason === 'deadline') {
    return new MailError('SMTP_TIMEOUT', `${where}: the send did not finish within its deadline of ${control.deadlineMs} ms; the message was not sent`, {
      ...base,
      hint: `The server answers too slowly. Check ${e.host}:${e.port}, or raise smtp.deadlineMs (or the deadlineMs send option) for very large messages.`,
    });
  }
  if (control.reason === 'closed') {
    return new MailError('MAILER_CLOSED', `${where}: the mailer was closed before the message was sent; nothing was sent`, base);
  }
  if (control.reason === 'aborted') return new MailError('ABORTED', `${where}: aborted; the message was not sent`, base);
  return mapSmtpError(err, e, protocol, 'send');
}

function authHint(response: string, e: SmtpEndpoint): string {
  const google = isGmailHost(e.host) || /support\.google\.com|BadCredentials/i.test(response);
  if (/5\.7\.9|application-specific password/i.test(response) || (google && /5\.7\.8|535/.test(response))) {
    return (
      'Gmail refuses the account password for SMTP: create an app password (Google account > Security > ' +
      '2-Step Verification must be on > App passwords > choose the app and this PC > Generate) and use the ' +
      '16-letter code as smtp.password. One app password per PC.'
    );
  }
  if (/5\.7\.139|5\.7\.3\b|5\.7\.30/.test(response)) {
    return (
      'Microsoft 365 has basic authentication for SMTP disabled for this tenant: use OAuth2 (smtp.accessToken, ' +
      'scope https://outlook.office.com/SMTP.Send) on smtp.office365.com:587, or ask the administrator to enable SMTP AUTH for the mailbox.'
    );
  }
  return 'Check smtp.username and smtp.password (the company account), and whether the server wants the full e-mail address as user name.';
}

function tlsHint(e: SmtpEndpoint, detail: string, responseCode?: number): string {
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    return `The server on port ${e.port} refused STARTTLS temporarily (${responseCode}): try again later; if it lasts, its administrator must fix its TLS setup.`;
  }
  if (responseCode !== undefined && responseCode >= 500 && ![500, 502, 504].includes(responseCode)) {
    return `The server on port ${e.port} refused STARTTLS (${responseCode}): use port 465 with security 'tls', or ask its administrator.`;
  }
  if (/wrong version number|WRONG_VERSION_NUMBER/i.test(detail)) {
    return `Port ${e.port} speaks plain SMTP with STARTTLS, not implicit TLS: use security 'auto' or 'starttls' (or port 465 with 'tls').`;
  }
  if (/certificate|self.signed|CERT_|unable to verify/i.test(detail)) {
    return "The server's certificate could not be verified: give the company CA as smtp.tls.ca (PEM), or check smtp.host matches the certificate name.";
  }
  if (/STARTTLS/i.test(detail) || responseCode !== undefined) {
    return `The server on port ${e.port} does not offer STARTTLS: use port 465 with security 'tls', or 'none' only on a trusted network.`;
  }
  return `Check that port ${e.port} and security '${e.security}' match the server (465: 'tls'; 25/587: 'starttls' or 'auto').`;
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
export function mapSmtpError(err: unknown, e: SmtpEndpoint, protocol: Protocol, op: 'send' | 'verify'): MailError {
  redactError(err, e);
  const ne = err as {
    code?: string;
    message?: string;
    response?: string;
    responseCode?: number;
    permanent?: boolean;
    command?: string;
    rejectedErrors?: unknown;
  };
  const detail = `${ne.message ?? String(err)}`;
  const where = `${op} (SMTP ${e.host}:${e.port}${ne.command && ne.command !== 'API' && ne.command !== 'CONN' ? `, ${ne.command}` : ''})`;
  const permanent = typeof ne.responseCode === 'number' ? ne.responseCode >= 500 : ne.permanent;
  const base = { protocol, cause: err, responseCode: ne.responseCode, permanent };
  const response = ne.response ?? detail;
  if (STARTTLS_FIRST.test(response) && ne.responseCode === 530) {
    return new MailError('SMTP_STARTTLS_REQUIRED', `${where}: the server wants STARTTLS first: ${response}`, {
      ...base,
      hint:
        e.security === 'none'
          ? "The server requires an encrypted connection: set smtp.security to 'auto' or 'starttls' (not 'none')."
          : "The server requires STARTTLS but did not offer it in its EHLO reply: set smtp.security to 'starttls' (or use port 465 with 'tls'), or ask its administrator.",
    });
  }
  if (ne.responseCode !== undefined && TOO_LARGE.test(response) && (ne.responseCode === 552 || /5\.3\.4/.test(response))) {
    return new MailError('SMTP_MESSAGE_TOO_LARGE', `${where}: the server refused the message as too large: ${response}`, {
      ...base,
      hint: 'Send smaller attachments (or a link to them): the server sets the limit.',
    });
  }
  switch (ne.code) {
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2': {
      const temporary = typeof ne.responseCode === 'number' && ne.responseCode >= 400 && ne.responseCode < 500;
      return new MailError('SMTP_AUTH', `${where}: login refused: ${response}`, {
        ...base,
        hint: temporary ? 'The server refused the login temporarily: try again later; the password was not judged wrong.' : authHint(response, e),
      });
    }
    case 'ETLS':
      return new MailError('SMTP_TLS', `${where}: TLS failed: ${detail}`, { ...base, hint: tlsHint(e, detail, ne.responseCode) });
    case 'ETIMEDOUT': {
      const hint =
        /greeting/i.test(detail) && e.port === 465
          ? "Port 465 expects TLS from the first byte: use security 'tls' or 'auto'."
          : `Check that ${e.host}:${e.port} is the right server and that a firewall does not drop the connection.`;
      return new MailError('SMTP_TIMEOUT', `${where}: timed out: ${detail}`, { ...base, hint });
    }
    case 'EENVELOPE': {
      if (ne.command === 'DATA') {
        return new MailError('SMTP_MESSAGE_REJECTED', `${where}: the server refused the message (DATA): ${response}`, {
          ...base,
          hint: permanent === false ? 'A temporary refusal: send the message again later.' : undefined,
        });
      }
      const details = rejectedDetails(ne.rejectedErrors);
      return new MailError('SMTP_REJECTED', `${where}: the server refused the envelope: ${response}`, {
        ...base,
        ...(details.length ? { rejectedDetails: details } : {}),
        hint:
          permanent === false
            ? 'A temporary refusal (4xx): send the message again later.'
            : 'Check the recipient addresses, and that the account may send as the sender address.',
      });
    }
    case 'EMESSAGE':
      if (/larger than allowed/i.test(detail)) return tooLarge(detail, where, base);
      return new MailError('SMTP_MESSAGE_REJECTED', `${where}: the server refused the message: ${response}`, {
        ...base,
        hint: permanent === false ? 'A temporary refusal: send the message again later.' : undefined,
      });
    case 'ESTREAM':
      return new MailError('ATTACHMENT_UNREADABLE', `${where}: an attachment could not be read while sending: ${detail}; the message was not sent`, {
        ...base,
        hint: 'Check that the attachment files stay in place and readable until send() returns (a stream given as content must not fail).',
      });
    case 'EABORT':
      return new MailError('ABORTED', `${where}: aborted`, base);
    case 'EPROTOCOL':
      if (/Invalid greeting/i.test(detail) && typeof ne.responseCode === 'number') {
        return new MailError('SMTP_CONNECTION', `${where}: the server refused the connection: ${response}`, {
          ...base,
          hint:
            ne.responseCode < 500
              ? 'The server is busy or shutting down (421): try again later.'
              : 'The server refuses connections from this machine: check smtp.host and smtp.port, or ask its administrator.',
        });
      }
      return new MailError('SMTP_PROTOCOL', `${where}: unexpected reply: ${detail}`, base);
    default: {
      if (/wrong version number|certificate|self.signed|TLS|SSL/i.test(detail)) {
        return new MailError('SMTP_TLS', `${where}: TLS failed: ${detail}`, { ...base, hint: tlsHint(e, detail) });
      }
      const hint =
        ne.code === 'EDNS' || /ENOTFOUND|EAI_AGAIN/.test(detail)
          ? `The server name '${e.host}' does not resolve: check smtp.host.`
          : /retries after connection was closed/i.test(detail)
            ? `The server at ${e.host}:${e.port} closed the connection before greeting: check smtp.host and smtp.port, and that it accepts this machine.`
            : `Check smtp.host and smtp.port (${e.host}:${e.port}) and that the server accepts connections from this machine.`;
      return new MailError('SMTP_CONNECTION', `${where}: connection failed: ${detail}`, { ...base, hint });
    }
  }
}

function tooLarge(detail: string, where: string, base: object): MailError {
  const limit = /larger than allowed (\d+)/i.exec(detail)?.[1];
  return new MailError(
    'SMTP_MESSAGE_TOO_LARGE',
    `${where}: the message is larger than the server's limit${limit ? ` of ${limit} bytes` : ''} (SIZE); nothing was uploaded`,
    {
      ...base,
      hint: `The server accepts messages up to ${limit ?? 'its advertised SIZE'} bytes, encoding included (attachments grow by a third in base64): send smaller attachments or a link to them.`,
    },
  );
}
