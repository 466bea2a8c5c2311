/**
 * SendResult: what every protocol reports after a send.
 */
import type { MailWarning, Protocol } from './errors';

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
