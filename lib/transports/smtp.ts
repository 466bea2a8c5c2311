/**
 * The SMTP path (also used by the managed relay): nodemailer's pooled SMTP transport configured
 * from the settings, with the pitfalls REFERENCE.md lists closed (port 25 by default, login
 * forced when credentials are set, TLS mode checked against the port), and every nodemailer
 * error mapped to a stable code with a hint.
 */
import type { SendMailOptions, SMTPPoolOptions, Transporter } from 'nodemailer';
import { MailError, MailWarning, Protocol } from '../errors';
import { nodemailer } from '../lazy';
import type { SmtpVerifyResult } from '../result';
import { isGmailHost, isLoopback, SmtpEndpoint } from '../settings';
import { verifySmtp } from './smtp-verify';

export type { SmtpEndpoint, SmtpVerifyResult };

/** What nodemailer reports after a send, the parts oxymail reads. */
export interface SmtpInfo {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** True when the server advertised DSN in its EHLO reply. */
  dsnOffered: boolean;
  response?: string;
}

/** nodemailer pool options for an endpoint. Exported for tests and the benchmark. */
export function poolOptions(e: SmtpEndpoint): SMTPPoolOptions {
  const hasCredentials = e.username !== undefined;
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
    options.auth = e.accessToken !== undefined ? { type: 'OAuth2', user: e.username, accessToken: e.accessToken } : { user: e.username, pass: e.password };
  }
  return options;
}

/** A pooled SMTP connection to one endpoint, opened on first use. */
export class SmtpTransport {
  readonly name = 'smtp';
  private transporter?: Transporter;

  constructor(
    private readonly endpoint: SmtpEndpoint,
    private readonly protocol: Protocol,
  ) {}

  private get pool(): Transporter {
    return (this.transporter ??= nodemailer().createTransport(poolOptions(this.endpoint)));
  }

  /** Sends composed mail options; resolves with what the server accepted. */
  async send(mail: SendMailOptions, signal?: AbortSignal): Promise<SmtpInfo> {
    try {
      const info = await this.pool.sendMail(signal ? { ...mail, signal } : mail);
      return {
        messageId: info.messageId,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        dsnOffered: Array.isArray(info.ehlo) && info.ehlo.some((l: string) => /^DSN\b/i.test(l)),
        response: info.response,
      };
    } catch (err) {
      throw mapSmtpError(err, this.endpoint, this.protocol, 'send');
    }
  }

  /** Connects, negotiates TLS and authenticates; sends nothing (see smtp-verify.ts). */
  async verify(): Promise<SmtpVerifyResult> {
    return verifySmtp(this.endpoint, this.protocol);
  }

  close(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }
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
export function mapSmtpError(err: unknown, e: SmtpEndpoint, protocol: Protocol, op: 'send' | 'verify'): MailError {
  const ne = err as { code?: string; message?: string; response?: string; responseCode?: number; permanent?: boolean; command?: string };
  const detail = `${ne.message ?? String(err)}`;
  const where = `${op} (SMTP ${e.host}:${e.port}${ne.command ? `, ${ne.command}` : ''})`;
  const base = { protocol, cause: err, responseCode: ne.responseCode, permanent: ne.permanent };
  const response = ne.response ?? detail;
  switch (ne.code) {
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2':
      return new MailError('SMTP_AUTH', `${where}: login refused: ${response}`, { ...base, hint: authHint(response, e) });
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
