/**
 * The SMTP path (also used by the managed relay): nodemailer's pooled SMTP transport configured
 * from the settings, with the pitfalls REFERENCE.md lists closed (port 25 by default, login
 * forced when credentials are set, TLS mode checked against the port), and every nodemailer
 * error mapped to a stable code with a hint.
 */
import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPPoolOptions, Transporter } from 'nodemailer';
import { MailError, MailWarning, Protocol } from '../errors';
import { isGmailHost, isLoopback, SmtpSecurity, SmtpSettings } from '../settings';
import type { TokenSource } from '../oauth/token-source';
import { rawSource } from './compose';
import type { Delivery, SendJob, Transport } from './transport';

/** Where and how to connect: the user's SMTP settings or the managed relay. */
export type SmtpEndpoint = Omit<SmtpSettings, 'senderName' | 'replyTo' | 'oauth2'>;

/** What verify() found. */
export interface SmtpVerifyResult {
  protocol: Protocol;
  server: string;
  security: SmtpSecurity;
  tls: 'implicit' | 'starttls-required' | 'starttls-when-offered' | 'off';
  authenticatedAs: string | null;
  warnings: MailWarning[];
}

/** nodemailer pool options for an endpoint. Exported for tests and the benchmark. */
export function poolOptions(e: SmtpEndpoint, tokens?: TokenSource): SMTPPoolOptions {
  const hasCredentials = e.username !== undefined || tokens !== undefined;
  const options: SMTPPoolOptions = {
    pool: true,
    maxConnections: 5,
    host: e.host,
    port: e.port,
    secure: e.security === 'tls' || (e.security === 'auto' && e.port === 465),
    // With credentials and a remote host, opportunistic STARTTLS is not enough: a server (or a
    // man in the middle) that hides STARTTLS would receive the password in clear text.
    requireTLS: e.security === 'starttls' || (e.security === 'auto' && hasCredentials && !isLoopback(e.host) && !e.allowInsecureAuth),
    ignoreTLS: e.security === 'none',
    tls: e.tls ? { ...e.tls } : undefined,
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
    options.auth = tokens
      ? { type: 'OAuth2', user: tokens.user }
      : e.accessToken !== undefined
        ? { type: 'OAuth2', user: e.username, accessToken: e.accessToken }
        : { user: e.username, pass: e.password };
  }
  return options;
}

/** The error nodemailer gets when the server answered 334 with an error JSON: the token was refused. */
const REFUSED = 'the server refused the OAuth2 access token (334 with an error)';

/**
 * Gives nodemailer's connections their XOAUTH2 token from the token source. A failure of the source
 * (sign-in required, provider unreachable) is kept aside, so the send raises it as it is rather than
 * as the EAUTH nodemailer would make of it.
 */
function provisioner(tokens: TokenSource, failures: WeakMap<object, unknown>) {
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

/** True for a login the server refused while using an OAuth2 token (535, or 334 with an error JSON). */
function tokenRefused(err: unknown): boolean {
  const e = err as { code?: string; command?: string };
  return e?.code === 'EAUTH' && /XOAUTH2/i.test(e.command ?? '');
}

function tlsMode(e: SmtpEndpoint): SmtpVerifyResult['tls'] {
  const o = poolOptions(e);
  return o.secure ? 'implicit' : o.requireTLS ? 'starttls-required' : o.ignoreTLS ? 'off' : 'starttls-when-offered';
}

/** A pooled SMTP connection to one endpoint, opened on first use. */
export class SmtpTransport implements Transport {
  readonly name: string;
  private transporter?: Transporter;
  private readonly tokenFailures = new WeakMap<object, unknown>();

  /** `tokens`: OAuth2 credentials (smtp.oauth2); the transport asks them for tokens and never sees the store. */
  constructor(
    private readonly endpoint: SmtpEndpoint,
    private readonly protocol: Protocol,
    private readonly tokens?: TokenSource,
  ) {
    this.name = protocol;
  }

  private create(options: SMTPPoolOptions | ReturnType<typeof poolOptions>): Transporter {
    const t = nodemailer.createTransport(options);
    if (this.tokens) t.set('oauth2_provision_cb', provisioner(this.tokens, this.tokenFailures));
    return t;
  }

  private get pool(): Transporter {
    return (this.transporter ??= this.create(poolOptions(this.endpoint, this.tokens)));
  }

  /**
   * Runs `attempt`; with OAuth2, the token is obtained first (nothing is sent when it cannot be),
   * and a token the server refuses is refreshed once and the attempt made once more, on a new
   * connection (nodemailer drops a connection whose login failed).
   */
  private async withToken<T>(attempt: () => Promise<T>, op: 'send' | 'verify', signal?: AbortSignal): Promise<T> {
    const fail = (err: unknown): never => {
      const original = err && typeof err === 'object' ? this.tokenFailures.get(err) : undefined;
      throw original ?? mapSmtpError(err, this.endpoint, this.protocol, op, !!this.tokens);
    };
    if (!this.tokens) return attempt().catch(fail);
    await this.tokens.getAccessToken({ signal });
    try {
      return await attempt();
    } catch (err) {
      // A failure of the token source, or SMTP AUTH disabled for the mailbox: a new token would not help.
      if (this.tokenFailures.has(err as object) || !tokenRefused(err) || /5\.7\.139/.test(String((err as { response?: string }).response))) return fail(err);
      await this.tokens.getAccessToken({ forceRefresh: true, signal });
      return attempt().catch(fail);
    }
  }

  /** Sends the composed message (its exact bytes, envelope and DSN parameters); resolves with what the server said. */
  async send(job: SendJob, signal?: AbortSignal): Promise<Delivery> {
    const composed = await job.compose();
    const mail: SendMailOptions = { envelope: composed.envelope };
    if (composed.dsn) mail.dsn = composed.dsn;
    if (signal) (mail as SendMailOptions & { signal: AbortSignal }).signal = signal;
    return this.withToken(
      async () => {
        // A fresh source of the same bytes for each attempt (a retry after a refused token).
        const info = await this.pool.sendMail({ ...mail, raw: rawSource(composed) });
        const rejected = (info.rejected ?? []).map(String);
        const errors = ((info as { rejectedErrors?: { recipient?: string; responseCode?: number; response?: string }[] }).rejectedErrors ?? []).filter(Boolean);
        return {
          messageId: composed.messageId,
          envelopeId: composed.dsn?.id,
          accepted: (info.accepted ?? []).map(String),
          rejected,
          rejectedDetails: rejected.map((address) => {
            const e = errors.find((r) => r.recipient === address);
            const responseCode = e?.responseCode;
            return { address, responseCode, permanent: responseCode === undefined || responseCode >= 500, response: e?.response };
          }),
          raw: composed,
          savedToSent: false,
          warnings: [],
          dsnOffered: Array.isArray(info.ehlo) && info.ehlo.some((l: string) => /^DSN\b/i.test(l)),
          response: info.response,
        };
      },
      'send',
      signal,
    );
  }

  /** Connects, negotiates TLS and authenticates; sends nothing. */
  async verify(): Promise<SmtpVerifyResult> {
    // A separate, non-pooled transport: verify() must open a connection of its own.
    const { pool: _pool, maxConnections: _max, ...single } = poolOptions(this.endpoint, this.tokens);
    await this.withToken(async () => {
      const probe = this.create(single);
      try {
        await probe.verify();
      } finally {
        probe.close();
      }
    }, 'verify');
    return {
      protocol: this.protocol,
      server: `${this.endpoint.host}:${this.endpoint.port}`,
      security: this.endpoint.security,
      tls: tlsMode(this.endpoint),
      authenticatedAs: this.tokens?.user ?? this.endpoint.username ?? null,
      warnings: [],
    };
  }

  close(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }
}

/** Hints for a refused XOAUTH2 login, one place per case (5.7.139: SMTP AUTH off for the mailbox or tenant). */
export const XOAUTH2_HINTS = {
  smtpAuthDisabled:
    'SMTP AUTH is disabled for this mailbox or for the whole tenant, which OAuth2 needs as well: a Microsoft 365 administrator enables it ' +
    '(admin center > Users > Active users > the user > Mail > Manage email apps > "Authenticated SMTP"; or PowerShell: ' +
    'Set-CASMailbox -Identity USER -SmtpClientAuthenticationDisabled $false, and for the tenant Set-TransportConfig -SmtpClientAuthenticationDisabled $false).',
  refused:
    'The server refused the OAuth2 access token even after a refresh: check that smtp.username (else email) is the mailbox that signed in, ' +
    'that the scopes include the sending permission (https://outlook.office.com/SMTP.Send, https://mail.google.com/), and sign in again (oxymail auth login USER).',
};

function authHint(response: string, e: SmtpEndpoint, oauth2 = false): string {
  if (oauth2) return /5\.7\.139/.test(response) ? XOAUTH2_HINTS.smtpAuthDisabled : XOAUTH2_HINTS.refused;
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

function tlsHint(e: SmtpEndpoint, detail: string): string {
  if (/wrong version number|WRONG_VERSION_NUMBER/i.test(detail)) {
    return `Port ${e.port} speaks plain SMTP with STARTTLS, not implicit TLS: use security 'auto' or 'starttls' (or port 465 with 'tls').`;
  }
  if (/certificate|self.signed|CERT_|unable to verify/i.test(detail)) {
    return "The server's certificate could not be verified: give the company CA as smtp.tls.ca (PEM), or check smtp.host matches the certificate name.";
  }
  if (/STARTTLS/i.test(detail)) {
    return `The server on port ${e.port} does not offer STARTTLS: use port 465 with security 'tls', or 'none' only on a trusted network.`;
  }
  return `Check that port ${e.port} and security '${e.security}' match the server (465: 'tls'; 25/587: 'starttls' or 'auto').`;
}

/** Maps a nodemailer error to a MailError with a stable code, the server's reply code and a hint. */
export function mapSmtpError(err: unknown, e: SmtpEndpoint, protocol: Protocol, op: 'send' | 'verify', oauth2 = false): MailError {
  const ne = err as { code?: string; message?: string; response?: string; responseCode?: number; permanent?: boolean; command?: string };
  const detail = `${ne.message ?? String(err)}`;
  const where = `${op} (SMTP ${e.host}:${e.port}${ne.command ? `, ${ne.command}` : ''})`;
  const base = { protocol, cause: err, responseCode: ne.responseCode, permanent: ne.permanent };
  const response = ne.response ?? detail;
  switch (ne.code) {
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2':
      return new MailError('SMTP_AUTH', `${where}: login refused: ${response}`, { ...base, hint: authHint(response, e, oauth2) });
    case 'ETLS':
      return new MailError('SMTP_TLS', `${where}: TLS failed: ${detail}`, { ...base, hint: tlsHint(e, detail) });
    case 'ETIMEDOUT': {
      const hint =
        /greeting/i.test(detail) && e.port === 465
          ? "Port 465 expects TLS from the first byte: use security 'tls' or 'auto'."
          : `Check that ${e.host}:${e.port} is the right server and that a firewall does not drop the connection.`;
      return new MailError('SMTP_TIMEOUT', `${where}: timed out: ${detail}`, { ...base, hint });
    }
    case 'EENVELOPE':
      return new MailError('SMTP_REJECTED', `${where}: the server refused the envelope: ${response}`, {
        ...base,
        hint: 'Check the recipient addresses, and that the account may send as the sender address.',
      });
    case 'EMESSAGE':
      return new MailError('SMTP_MESSAGE_REJECTED', `${where}: the server refused the message: ${response}`, base);
    case 'EABORT':
      return new MailError('ABORTED', `${where}: aborted`, base);
    case 'EPROTOCOL':
      return new MailError('SMTP_PROTOCOL', `${where}: unexpected reply: ${detail}`, base);
    default: {
      if (/wrong version number|certificate|self.signed|TLS|SSL/i.test(detail)) {
        return new MailError('SMTP_TLS', `${where}: TLS failed: ${detail}`, { ...base, hint: tlsHint(e, detail) });
      }
      const hint =
        ne.code === 'EDNS' || /ENOTFOUND|EAI_AGAIN/.test(detail)
          ? `The server name '${e.host}' does not resolve: check smtp.host.`
          : `Check smtp.host and smtp.port (${e.host}:${e.port}) and that the server accepts connections from this machine.`;
      return new MailError('SMTP_CONNECTION', `${where}: connection failed: ${detail}`, { ...base, hint });
    }
  }
}
