/**
 * SendResult: what every protocol reports after a send.
 */
import type { MailWarning, Protocol, RejectedRecipient } from './errors';
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

/** What verify() found on SMTP (or the managed relay). */
export interface SmtpVerifyResult {
  protocol: Protocol;
  server: string;
  security: SmtpSecurity;
  /** What the connection really used: implicit TLS, STARTTLS, or none (the session stayed in clear). */
  tls: 'implicit' | 'starttls' | 'none';
  /** The negotiated TLS version ('TLSv1.3'); null without TLS. */
  tlsProtocol: string | null;
  /** The negotiated cipher suite ('TLS_AES_256_GCM_SHA384'); null without TLS. */
  cipher: string | null;
  /** What the settings ask for: implicit TLS, STARTTLS required, STARTTLS when the server offers it, or off. */
  tlsPolicy: 'implicit' | 'starttls-required' | 'starttls-when-offered' | 'off';
  /** The user name of the login the server accepted; null when no login was made. */
  authenticatedAs: string | null;
  /** The SASL mechanism of that login (PLAIN, LOGIN, XOAUTH2); null without a login. */
  authMethod: string | null;
  warnings: MailWarning[];
}
