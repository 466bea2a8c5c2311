/**
 * SendResult: what every protocol reports after a send.
 */
import type { MailWarning, Protocol } from './errors';
import type { SmtpSecurity } from './settings';

/** What happened to a message. */
export interface SendResult {
  protocol: Protocol;
  /** The Message-ID header (SMTP, managed), or null when the mail client assigns it (MAPI). */
  messageId: string | null;
  /** Recipients the server or mail client took. */
  accepted: string[];
  /** Recipients the server refused (the others were sent). */
  rejected: string[];
  receipts: {
    read: 'requested' | 'not-requested';
    delivery: 'requested' | 'not-requested' | 'unsupported-by-server';
  };
  warnings: MailWarning[];
  /** True when a copy was kept in the sender's Sent Items (MAPI). */
  savedToSent: boolean;
}

/** What verify() found on SMTP (or the managed relay). */
export interface SmtpVerifyResult {
  protocol: Protocol;
  server: string;
  security: SmtpSecurity;
  tls: 'implicit' | 'starttls-required' | 'starttls-when-offered' | 'off';
  authenticatedAs: string | null;
  warnings: MailWarning[];
}
