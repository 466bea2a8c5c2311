/**
 * The one shape every transport has (smtp, managed, mapi), as nodemailer's transports do: a name
 * and `send(job, signal) -> Delivery`. A transport reports what the wire or MAPI said; what to do
 * about it (queue, hold, throw, copy to Sent) is decided above it, in one place.
 */
import type { Effective, Feature } from '../capabilities';
import type { MailWarning, Protocol } from '../errors';
import type { NormalizedMessage } from '../message';

/** The DSN parameters of a message: they travel on MAIL FROM / RCPT TO, not in the bytes. */
export interface DsnParams {
  id: string;
  return: 'headers' | 'full';
  notify: string[];
}

/**
 * A composed message: its exact bytes (in memory, or a file when attachments were streamed into
 * it), its SMTP envelope and its DSN parameters. Re-readable as often as needed.
 */
export interface ComposedMessage {
  messageId: string;
  envelope: { from: string; to: string[] };
  dsn?: DsnParams;
  /** Size of the bytes. */
  size: number;
  buffer?: Buffer;
  path?: string;
  /** Removes what composing left on disk (a temp file); the outbox takes a file over before that. */
  dispose(): Promise<void>;
}

/** What one send asks a transport to do. */
export interface SendJob {
  protocol: Protocol;
  /** The validated message; MAPI builds its own message from it. Absent on a replay from the outbox. */
  message?: NormalizedMessage;
  /** The per-message options after settings defaults and the capability rule. */
  effective: Effective;
  /** Features the capability rule dropped. */
  dropped: Set<Feature>;
  /** MAPI only: the compose window and its parent. */
  dialog?: boolean;
  parentWindow?: Buffer | bigint;
  /** SMTP, managed: the overall deadline of this send in ms (else smtp.deadlineMs, else 5 minutes). */
  deadlineMs?: number;
  /**
   * The composed RFC 5322 message (SMTP, managed): made on the first call and the same object on
   * every later one, so what is sent, queued and copied to Sent is one set of bytes. A replay from
   * the outbox gives the stored message. `signal` (the send's deadline, the caller's abort,
   * close()) ends the composing of the first call: the attachment streams are destroyed, the temp
   * file removed, and the promise rejects with the signal's reason.
   */
  compose(signal?: AbortSignal): Promise<ComposedMessage>;
}

/** One refused recipient, as the server said it. */
export interface RejectedDetail {
  address: string;
  responseCode?: number;
  /** False for a 4xx (try again later), true for a 5xx. */
  permanent: boolean;
  response?: string;
}

/** What the wire or MAPI reported for one send. */
export interface Delivery {
  /** The Message-ID header, or null when the mail client assigns it (MAPI). */
  messageId: string | null;
  /** The DSN envelope id (ENVID) when a delivery receipt was asked for. */
  envelopeId?: string;
  accepted: string[];
  rejected: string[];
  rejectedDetails: RejectedDetail[];
  /** The exact message that went out (SMTP, managed): re-readable, for the outbox and the copy in Sent. */
  raw?: ComposedMessage;
  /** True when the peer kept a copy in the sender's Sent folder (MAPI; or the IMAP copy, set above). */
  savedToSent: boolean;
  warnings: MailWarning[];
  /** True when a delivery-receipt request reached a peer that honours it (SMTP: the server advertised DSN). */
  dsnOffered: boolean;
  /** The server's last reply (SMTP). */
  response?: string;
}

/** A transport: a name and one send. */
export interface Transport {
  readonly name: string;
  send(job: SendJob, signal?: AbortSignal): Promise<Delivery>;
  close?(): void;
}
