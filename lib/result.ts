/**
 * SendResult: what every protocol reports after a send.
 */
import type { MailWarning, Protocol, RejectedRecipient } from './errors';

/** What happened to a message. */
export interface SendResult {
  protocol: Protocol;
  /** The Message-ID header (SMTP, managed), or null when the mail client assigns it (MAPI). */
  messageId: string | null;
  /** Recipients the server or mail client took. */
  accepted: string[];
  /** Recipients the server refused (the others were sent). */
  rejected: string[];
  /** Each refused recipient with the server's reply code; `permanent: false` (4xx) may be retried later. */
  rejectedDetails: RejectedRecipient[];
  /** The DSN envelope id (ENVID) that went on MAIL FROM, to match delivery reports; absent when no DSN was requested. */
  envelopeId?: string;
  receipts: {
    read: 'requested' | 'not-requested';
    /** 'to-relay' (managed): the DSN was requested, but reports go to the relay's address, not the user's. */
    delivery: 'requested' | 'not-requested' | 'unsupported-by-server' | 'to-relay';
  };
  warnings: MailWarning[];
  /** True when a copy was kept in the sender's Sent Items (MAPI). */
  savedToSent: boolean;
}
