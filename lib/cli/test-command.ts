/**
 * `oxymail settings test USER`: verify() with the user's stored settings, then (with --to) a test
 * message, told in plain words: which server, what TLS the handshake really negotiated (not what
 * the settings ask for), who logged in, and which receipts this protocol and this server allow.
 */
import { capabilities, noteKey, ProtocolKey } from '../capabilities';
import { smtpHandshake } from '../doctor/smtp-probe';
import type { HandshakeFact } from '../doctor/probe';
import { MailError } from '../errors';
import type { Mailer, VerifyResult } from '../mailer';
import type { SendResult } from '../result';
import { relayEndpoint, resolveRelay } from '../transports/managed';
import type { SmtpEndpoint } from '../settings';
import { errorJson, green, print, progress, red, t, writeErrorText, yellow } from './output';
import { format, text } from '../i18n';

const OK = () => green('ok');
const WARN = () => yellow('warn');
const FAIL = () => red('FAIL');
const NOTE = () => yellow('--');

/** How a delivery receipt would fare: works, the server lacks DSN, the protocol lacks it, or not known (no handshake). */
type DeliveryOutlook = 'works' | 'server-has-no-dsn' | 'unsupported' | 'unknown';

/** The endpoint a send by this mailer talks to (the user's server, or the suite's relay). */
function endpointOf(mailer: Mailer): SmtpEndpoint | undefined {
  if (mailer.protocol === 'smtp') return mailer.settings.smtp;
  if (mailer.protocol === 'managed') {
    const relay = resolveRelay(undefined);
    return relay ? relayEndpoint(relay) : undefined;
  }
  return undefined;
}

function protocolKey(mailer: Mailer): ProtocolKey {
  return mailer.protocol === 'mapi' ? `mapi-${mailer.settings.mapi?.interface ?? 'simple'}` : mailer.protocol;
}

/** The TLS line: what the handshake negotiated. */
function tlsLine(h: HandshakeFact, server: string): string {
  if (!h.ok) return `${WARN()} ${t('cli.test.tlsUnchecked', { code: h.code })}`;
  if (h.tls === 'none') return `${WARN()} ${t('cli.test.noTls', { server })}`;
  return `${OK()} TLS: ${h.tlsProtocol ?? t('cli.test.negotiated')} (${h.tls === 'implicit' ? t('doctor.tls.mode.implicit') : 'STARTTLS'})`;
}

/** The receipt lines for this protocol, from the capability matrix (and, for SMTP, the server's DSN). */
function receiptLines(key: ProtocolKey, delivery: DeliveryOutlook, checked: boolean): string[] {
  const caps = capabilities(key);
  // What the protocol allows is only "ok" once the connection itself was checked.
  const works = checked ? OK : NOTE;
  const mapi = key.startsWith('mapi');
  const read = caps.readReceipt.supported
    ? `${NOTE()} ${t(mapi ? 'cli.test.readMapi' : 'cli.test.readSmtp')}`
    : `${NOTE()} ${t('cli.test.readUnsupported', { key })}`;
  const deliveryWords: Record<DeliveryOutlook, string> = {
    works:
      key === 'smtp' ? `${works()} ${t('cli.test.dsn')}` : key === 'managed' ? `${works()} ${t('cli.test.dsnRelay')}` : `${works()} ${t('cli.test.dsnMapi')}`,
    'server-has-no-dsn': `${WARN()} ${t('cli.test.noDsn')}`,
    unsupported: `${NOTE()} ${t('cli.test.deliveryUnsupported', {
      key,
      note: caps.deliveryReceipt.note ? ` (${format(text(noteKey(key, 'deliveryReceipt')))})` : '',
      extended: key === 'mapi-simple' ? t('cli.test.extendedSupports') : '',
    })}`,
    unknown: `${NOTE()} ${t('cli.test.deliveryUnknown')}`,
  };
  return [read, deliveryWords[delivery]];
}

/** Runs the test and prints it; a failure is printed in the report, then raised (exit 1). */
export async function testUser(mailer: Mailer, user: string, opts: { to?: string; json?: boolean }): Promise<void> {
  const key = protocolKey(mailer);
  const lines: string[] = [];
  const report: {
    user: string;
    protocol: ProtocolKey;
    verify: VerifyResult | null;
    tls?: { negotiated: 'implicit' | 'starttls' | 'none'; protocol: string | null } | null;
    dsnOffered?: boolean;
    receipts: { read: 'supported' | 'unsupported'; delivery: DeliveryOutlook };
    sent?: SendResult;
    error?: ReturnType<typeof errorJson>['error'];
  } = { user, protocol: key, verify: null, receipts: { read: 'unsupported', delivery: 'unsupported' } };
  let failure: unknown;
  try {
    progress(t('cli.test.checking', { user, key }));
    let delivery: DeliveryOutlook = capabilities(key).deliveryReceipt.supported ? 'works' : 'unsupported';
    try {
      report.verify = await mailer.verify();
    } catch (err) {
      failure = err;
      lines.push(`${FAIL()} ${t('cli.test.failed', { key, code: (err as MailError).code ?? 'error' })}`);
    }
    const verified = report.verify;
    if (verified && 'server' in verified) {
      lines.push(`${OK()} ${t('cli.test.connected', { server: verified.server, protocol: verified.protocol })}`);
      const endpoint = endpointOf(mailer);
      const h = endpoint ? await smtpHandshake(endpoint) : undefined;
      if (h) {
        lines.push(tlsLine(h, verified.server));
        report.tls = h.ok ? { negotiated: h.tls, protocol: h.tlsProtocol } : null;
      }
      lines.push(
        verified.authenticatedAs ? `${OK()} ${t('cli.test.authenticated', { user: verified.authenticatedAs })}` : `${NOTE()} ${t('cli.test.noLogin')}`,
      );
      if (key === 'smtp') {
        // What the server advertises decides whether delivery receipts can work (nodemailer drops DSN silently).
        if (h?.ok) report.dsnOffered = h.extensions.some((e) => /^DSN\b/i.test(e));
        delivery = report.dsnOffered === undefined ? 'unknown' : report.dsnOffered ? 'works' : 'server-has-no-dsn';
      }
    } else if (verified) {
      lines.push(`${OK()} ${t('cli.test.mapi', { interface: verified.interface })}`);
    }
    if (verified) for (const w of verified.warnings) lines.push(`${WARN()} ${w.message}`);
    lines.push(...receiptLines(key, delivery, !failure));
    report.receipts = { read: capabilities(key).readReceipt.supported ? 'supported' : 'unsupported', delivery };
    if (opts.to && !failure) {
      progress(t('cli.test.sending', { to: opts.to }));
      try {
        // Only the receipts that can work are asked for: what cannot was said once above.
        const sent = await mailer.send({
          to: opts.to,
          subject: t('cli.test.subject', { user }),
          text: t('cli.test.body', { user }),
          readReceipt: report.receipts.read === 'supported',
          deliveryReceipt: delivery === 'works',
        });
        report.sent = sent;
        lines.push(`${OK()} ${t('cli.test.sent', { to: sent.accepted.join(', '), id: sent.messageId ? ` (${sent.messageId})` : '' })}`);
        if (sent.rejected.length) lines.push(`${WARN()} ${t('cli.test.refused', { list: sent.rejected.join(', ') })}`);
        lines.push(` ${t('cli.send.receipts', { read: sent.receipts.read, delivery: sent.receipts.delivery })}`);
        for (const w of sent.warnings) lines.push(`${WARN()} ${w.message}`);
      } catch (err) {
        failure = err;
        lines.push(`${FAIL()} ${t('cli.test.notSent', { code: (err as MailError).code ?? 'error' })}`);
      }
    }
  } finally {
    mailer.close();
  }
  if (failure === undefined) return print(opts.json, report, lines.join('\n'));
  if (opts.json) {
    // One JSON document: the report with its error; the exit code still says it failed.
    print(true, { ...report, ...errorJson(failure) }, '');
    writeErrorText(failure);
    process.exitCode = 1;
    return;
  }
  print(false, null, lines.join('\n'));
  throw failure;
}
