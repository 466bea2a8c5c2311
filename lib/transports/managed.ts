/**
 * The managed relay: the suite's own SMTP account. The user gets an assigned sender address,
 * their own address goes to Reply-To, and bulk (CRM) sending is refused.
 */
import { MailError, Problem, problem, problemAt, problemHint, problemsText } from '../errors';
import { text, textList } from '../i18n';
import { SmtpSecurity, validateSettings } from '../settings';
import type { SmtpEndpoint } from '../settings';

/** The relay the host application gives (or OXYMAIL_MANAGED_RELAY / OXYMAIL_MANAGED_FROM). */
export interface ManagedRelay extends Partial<SmtpEndpoint> {
  host: string;
  port?: number;
  security?: SmtpSecurity;
  username?: string;
  password?: string;
  /** The sender address the relay assigns to the user. */
  assignedAddress: string;
}

/** The hint every "managed mode cannot work" error carries. */
export const MANAGED_HINT = text('MANAGED_NOT_CONNECTED.hint');

/**
 * The relay from the options, or from the environment: OXYMAIL_MANAGED_RELAY is an smtp:// or
 * smtps:// URL with credentials, OXYMAIL_MANAGED_FROM the assigned sender address.
 */
export function resolveRelay(given: ManagedRelay | undefined, env: NodeJS.ProcessEnv = process.env): ManagedRelay | undefined {
  if (given) return checkRelay(given);
  const url = env.OXYMAIL_MANAGED_RELAY;
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MailError('MANAGED_NOT_CONNECTED', text('MANAGED_NOT_CONNECTED.notUrl'), {
      protocol: 'managed',
      hint: MANAGED_HINT,
    });
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new MailError('MANAGED_NOT_CONNECTED', text('MANAGED_NOT_CONNECTED.scheme', { scheme: `${parsed.protocol}//` }), {
      protocol: 'managed',
      hint: MANAGED_HINT,
    });
  }
  const secure = parsed.protocol === 'smtps:';
  // A malformed percent-escape in the credentials (`%E0%A4%A`) is a configuration error, not a URIError.
  const decode = (part: string, what: string) => {
    try {
      return part ? decodeURIComponent(part) : undefined;
    } catch {
      throw new MailError('MANAGED_NOT_CONNECTED', text('MANAGED_NOT_CONNECTED.escape', { what }), {
        protocol: 'managed',
        hint: text('MANAGED_NOT_CONNECTED.hint.escape', { what, managed: MANAGED_HINT }),
      });
    }
  };
  return checkRelay({
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 25,
    security: secure ? 'tls' : 'auto',
    username: decode(parsed.username, 'user name'),
    password: decode(parsed.password, 'password'),
    assignedAddress: env.OXYMAIL_MANAGED_FROM ?? '',
  });
}

const RELAY_FIELDS = [
  'host',
  'port',
  'security',
  'username',
  'password',
  'accessToken',
  'allowInsecureAuth',
  'tls',
  'timeoutMs',
  'deadlineMs',
  'name',
  'assignedAddress',
];

/**
 * The relay goes through the same rules as a user's SMTP settings (types, port/TLS contradictions,
 * no password in clear text to a remote host), and a misspelt field is an error rather than a
 * relay that silently sends without logging in.
 */
function checkRelay(relay: ManagedRelay): ManagedRelay {
  const problems: Problem[] = Object.keys(relay)
    .filter((key) => !RELAY_FIELDS.includes(key))
    .map((key) => problem(key, text('UNKNOWN_OPTION.relayField', { known: RELAY_FIELDS.join(', ') })));
  const { assignedAddress, ...smtp } = relay;
  if (!relay.host) problems.push(problem('host', text('MANAGED_NOT_CONNECTED.noHost')));
  if (!assignedAddress) problems.push(problem('assignedAddress', text('MANAGED_NOT_CONNECTED.noAddress')));
  let checked: SmtpEndpoint | undefined;
  try {
    checked = validateSettings({ customize: true, protocol: 'smtp', email: assignedAddress || undefined, smtp: pick(smtp, RELAY_FIELDS) }).smtp;
  } catch (err) {
    if (!(err instanceof MailError) || !err.problems) throw err;
    for (const p of err.problems) {
      const path = p.path === 'email' ? 'assignedAddress' : p.path.replace(/^smtp\./, '');
      if (!problems.some((q) => q.path === path)) problems.push(problemAt(p, path));
    }
  }
  if (problems.length || !checked) {
    const hints = problems.filter((p) => p.hint).map((p) => problemHint(p));
    throw new MailError('MANAGED_NOT_CONNECTED', problemsText(text('MANAGED_NOT_CONNECTED.invalid'), problems), {
      protocol: 'managed',
      hint: text('problems.hints', { hints: textList([...hints, MANAGED_HINT], ' ') }),
      problems,
    });
  }
  return { ...checked, assignedAddress };
}

function pick(o: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));
}

/** The SMTP endpoint of a relay, with the same defaults as user SMTP settings. */
export function relayEndpoint(relay: ManagedRelay): SmtpEndpoint {
  const { assignedAddress: _assigned, ...endpoint } = relay;
  return { ...endpoint, port: relay.port ?? 25, security: relay.security ?? 'auto' };
}
