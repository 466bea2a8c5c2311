/**
 * What an SMTP server offers, read from its EHLO reply with nodemailer's SMTPConnection (AUTH and
 * DSN are what nodemailer silently skips when absent, so the doctor shows them), and the login,
 * through the same createMailer(settings).verify() a real send would use.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { localizeError, MailError } from '../errors';
import { format, text } from '../i18n';
import { createMailer } from '../mailer';
import type { SettingsInput } from '../settings';
import type { TokenSource } from '../oauth/token-source';
import { mapSmtpError, poolOptions, SmtpEndpoint } from '../transports/smtp';
import type { HandshakeFact, LoginFact } from './probe';

/** The doctor's default timeout when the settings have none: long enough for a slow server, short for a person waiting. */
export const DOCTOR_TIMEOUT_MS = 10_000;

/** SMTPConnection's state after connect(); `_ehloLines` is internal, hence the fallbacks. */
interface ConnectionState {
  secure: boolean;
  _ehloLines?: string[];
  _supportedExtensions?: string[];
  _supportedAuth?: string[];
  allowsAuth?: boolean;
  _socket?: { getProtocol?: () => string | null } | false | null;
}

/**
 * Connects with the TLS behaviour a send would have (the same options as the transport, without
 * credentials: no login here), and reads the extensions the server advertises after TLS. A failure
 * is told in `locale` (default: the process default).
 */
export async function smtpHandshake(endpoint: SmtpEndpoint, locale?: string): Promise<HandshakeFact> {
  const { host, port, secure, requireTLS, ignoreTLS, tls, connectionTimeout, greetingTimeout, socketTimeout } = poolOptions(endpoint);
  const timeout = endpoint.timeoutMs ?? DOCTOR_TIMEOUT_MS;
  const conn = new SMTPConnection({
    host,
    port,
    secure,
    requireTLS,
    ignoreTLS,
    tls,
    connectionTimeout: connectionTimeout ?? timeout,
    greetingTimeout: greetingTimeout ?? timeout,
    socketTimeout: socketTimeout ?? timeout,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    const state = conn as unknown as ConnectionState;
    const lines = state._ehloLines;
    const extensions = lines ?? [...(state._supportedExtensions ?? []), ...(state.allowsAuth ? [`AUTH ${(state._supportedAuth ?? []).join(' ')}`.trim()] : [])];
    const tlsProtocol = state._socket && typeof state._socket.getProtocol === 'function' ? state._socket.getProtocol() : null;
    return {
      ok: true,
      tls: secure ? 'implicit' : state.secure ? 'starttls' : 'none',
      tlsProtocol,
      extensions,
      heloOnly: lines === undefined && !state._supportedExtensions?.length,
    };
  } catch (err) {
    const mapped = again(mapSmtpError(err, endpoint, 'smtp', 'verify'), locale);
    return { ok: false, code: mapped.code, message: mapped.message, hint: mapped.hint };
  } finally {
    conn.close();
  }
}

/** An error told again in `locale` (as it is without one). */
const again = <E>(err: E, locale: string | undefined): E => (locale === undefined ? err : localizeError(err, locale));

/** Logs in as a send would (STARTTLS required with credentials, forced AUTH), sends nothing; its words in `locale`. */
export async function smtpLogin(settings: SettingsInput, tokenSource?: TokenSource, locale?: string): Promise<LoginFact> {
  let mailer;
  try {
    mailer = createMailer(settings, { ...(tokenSource ? { tokenSource } : {}), ...(locale === undefined ? {} : { locale }) });
    const result = await mailer.verify({ protocol: 'smtp' });
    if (!('authenticatedAs' in result)) return { ok: false, code: 'SMTP_PROTOCOL', message: format(text('doctor.probe.notSmtp'), locale) };
    return { ok: true, authenticatedAs: result.authenticatedAs, tls: result.tls, warnings: result.warnings };
  } catch (err) {
    if (err instanceof MailError) {
      const e = again(err, locale);
      return { ok: false, code: e.code, message: e.message, hint: e.hint };
    }
    return { ok: false, code: 'UNKNOWN', message: (err as Error).message };
  } finally {
    mailer?.close();
  }
}
