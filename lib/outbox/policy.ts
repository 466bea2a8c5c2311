/**
 * The one place that decides what a failed send means for the outbox: try again later
 * (transient), give up (permanent), or hold for a person (the server may have the message).
 * The transports only report facts (codes, reply codes, `deliveryUnknown`); this reads them.
 */
import { MailError } from '../errors';

/** What a failure means for a message. */
export type FailureClass = 'transient' | 'permanent' | 'unknown';

/**
 * Failures that say nothing about the message itself: the server could not be reached, did not
 * answer in time, or the OAuth2 token could not be fetched (OAUTH_UNREACHABLE, issue 10).
 */
const TRANSIENT_CODES = new Set(['SMTP_CONNECTION', 'SMTP_TIMEOUT', 'OAUTH_UNREACHABLE']);

/**
 * Classifies a failed send. Unknown first: a connection lost after the final "." (the hardening
 * work's SMTP_DELIVERY_UNKNOWN, `deliveryUnknown: true`) is never sent again automatically. Then
 * the server's reply code when there is one (4xx: later; 5xx: never), then the code. Anything
 * that is not a MailError is a bug, not a reason to loop: permanent.
 */
export function classify(err: unknown): FailureClass {
  const e = err as { code?: unknown; deliveryUnknown?: unknown; responseCode?: unknown; permanent?: unknown };
  if (e?.deliveryUnknown === true || e?.code === 'SMTP_DELIVERY_UNKNOWN') return 'unknown';
  if (!(err instanceof MailError)) return 'permanent';
  if (typeof e.responseCode === 'number') {
    if (e.responseCode >= 400 && e.responseCode < 500) return 'transient';
    if (e.responseCode >= 500) return 'permanent';
  }
  if (e.permanent === true) return 'permanent';
  return TRANSIENT_CODES.has(err.code) ? 'transient' : 'permanent';
}

/** Retry timing, as MTAs do it: exponential backoff with jitter, a cap, and an age to give up at. */
export interface RetryPolicy {
  /** Delay before the first retry (default 60 s). */
  firstRetryMs: number;
  /** Longest delay between two tries (default 1 h). */
  maxRetryMs: number;
  /** Age (from the first try) after which a transient failure becomes final (default 48 h). */
  maxAgeMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { firstRetryMs: 60_000, maxRetryMs: 3_600_000, maxAgeMs: 48 * 3_600_000 };

/**
 * The delay before try number `failures + 1`: firstRetryMs doubled after each failure, capped,
 * with ±20 % jitter so that many queued messages (or many PCs after one outage) do not all come
 * back in the same second.
 */
export function retryDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxRetryMs, policy.firstRetryMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}
