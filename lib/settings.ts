/**
 * UserMailSettings: one user's sending settings, as the product page describes them, their
 * validation (every problem, with its field path) and the layering of an application's local
 * settings over the user's general ones, with the provenance of each value.
 */
import { failWithProblems, MailWarning, Problem, problem, warning } from './errors';
import { format, Text, text } from './i18n';
import { Importance, IMPORTANCE_LEVELS } from './importance';
import { checkAddress, forbiddenCharacter, hasLineBreak } from './address';
import { issuerProblem, OAUTH2_PRESETS } from './oauth/presets';
import type { ParseError } from 'jsonc-parser';
import { jsoncParser } from './lazy';
import { closest } from './suggest';

/** Bounds of smtp.deadlineMs and of the deadlineMs send option (setTimeout cannot wait longer than 2^31-1 ms). */
export const DEADLINE_BOUNDS = { min: 100, max: 60 * 60 * 1000 } as const;

/** True for a name EHLO may carry: a domain name of LDH labels with a dot, or an address literal. */
export function isEhloName(name: string): boolean {
  if (name.length > 255) return false;
  if (/^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/.test(name)) return true;
  return /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name);
}

/** How the SMTP connection is secured. */
export type SmtpSecurity = 'auto' | 'starttls' | 'tls' | 'none';

/** SMTP parameters (the right-hand side of the product page). */
export interface SmtpSettings {
  host: string;
  /** Default 25, as the product page says. */
  port: number;
  /** 'auto' (default): STARTTLS when offered, implicit TLS on 465. */
  security: SmtpSecurity;
  username?: string;
  password?: string;
  /** An OAuth2 access token (XOAUTH2) used instead of the password; you refresh it yourself (see `oauth2` instead). */
  accessToken?: string;
  /** OAuth2 sign-in (XOAUTH2 with tokens kept fresh from a refresh token): see lib/oauth. */
  oauth2?: OAuth2Settings;
  senderName?: string;
  replyTo?: string;
  /** Allow a password over an unencrypted connection to a host outside loopback. */
  allowInsecureAuth?: boolean;
  /** TLS details: a private CA (PEM), the name the certificate must carry. */
  tls?: { ca?: string; servername?: string; rejectUnauthorized?: boolean };
  /** Connection, greeting and socket (inactivity) timeout in milliseconds: 100 to 600000. */
  timeoutMs?: number;
  /** Overall deadline of one send in milliseconds, from send() to the server's answer: 100 to 3600000, default 300000 (5 minutes). */
  deadlineMs?: number;
  /** The name given in EHLO. Default: the machine's name when it is fully qualified, else the address literal [127.0.0.1]. */
  name?: string;
}

/** The OAuth2 providers oxymail has presets for; 'oidc' is any OpenID provider, found by its issuer's discovery document. */
export type OAuth2Provider = 'microsoft' | 'google' | 'oidc';

/** `smtp.oauth2`: who issues the tokens, for which registered application. */
export interface OAuth2Settings {
  provider: OAuth2Provider;
  /** The application (client) id registered at the provider (a public client: no secret). */
  clientId: string;
  /** Microsoft only: 'organizations' (default), 'common', 'consumers', a tenant id or a domain. */
  tenant?: string;
  /** 'oidc' only (required): the issuer URL; http:// on loopback only. */
  issuer?: string;
  /** Space-separated scopes (an array in files is joined); preset for microsoft and google, required for oidc. */
  scopes?: string;
  /**
   * Only for clients the provider issues a "secret" to although they run on the user's machine
   * (Google's "Desktop app" clients, whose token endpoint wants it): kept like a password.
   */
  clientSecret?: string;
  /** The refresh token `oxymail auth login` stored (a secret: sealed, masked, never on the command line). */
  refreshToken?: string;
}

/** Where and how to connect: the user's SMTP settings or the managed relay. */
export type SmtpEndpoint = Omit<SmtpSettings, 'senderName' | 'replyTo' | 'oauth2'>;

/** MAPI parameters (the left-hand side of the product page). */
export interface MapiSettings {
  profile?: string;
  password?: string;
  /** 'simple' (default) or 'extended'. */
  interface: 'simple' | 'extended';
  /** Show the mail client's compose window before sending. */
  dialog: boolean;
}

/** How the IMAP connection is secured: 'auto' is implicit TLS on 993, STARTTLS elsewhere. */
export type ImapSecurity = 'auto' | 'starttls' | 'tls' | 'none';

/** The IMAP account where a copy of each message sent by SMTP is kept (Sent folder). */
export interface ImapSettings {
  host: string;
  /** Default 993. */
  port: number;
  security: ImapSecurity;
  /** Default: smtp.username (the same sign-in as SMTP). */
  username?: string;
  /** Default: smtp.password when username is not given either. */
  password?: string;
  /** An OAuth2 access token (XOAUTH2) used instead of the password. */
  accessToken?: string;
  /** The folder to file copies in; default: the one flagged \\Sent (RFC 6154), else Sent, Sent Items, Éléments envoyés, INBOX.Sent. */
  sentFolder?: string;
  /** Allow a password over an unencrypted connection to a host outside loopback. */
  allowInsecureAuth?: boolean;
  tls?: { ca?: string; servername?: string; rejectUnauthorized?: boolean };
  /** Connection, greeting and socket timeout in milliseconds. */
  timeoutMs?: number;
}

/** Where a copy of an SMTP-sent message goes: 'auto' (IMAP when configured, skipping providers that file it themselves), 'imap', 'off'. */
export type SentCopyMode = 'auto' | 'imap' | 'off';

/** One user's e-mail sending settings. JSON-serialisable. */
export interface UserMailSettings {
  /** Libellé: the user's display name. */
  label?: string;
  /** The user's e-mail address. */
  email?: string;
  /** false (default): the managed relay; true: `protocol` below. */
  customize: boolean;
  protocol?: 'smtp' | 'mapi';
  smtp?: SmtpSettings;
  mapi?: MapiSettings;
  /** The Sent-folder account for SMTP and managed sending. */
  imap?: ImapSettings;
  /** Whether a copy goes to the Sent folder over IMAP (absent: 'auto'). */
  sentCopy?: SentCopyMode;
  /** Keep messages that could not be sent yet in the local outbox and retry them (absent: false). */
  outbox?: boolean;
  defaults: { readReceipt: boolean; deliveryReceipt: boolean; importance: Importance };
}

/** Any part of the settings, as a user or an application writes them. */
export type SettingsInput = {
  [K in keyof UserMailSettings]?: UserMailSettings[K] extends object | undefined ? Partial<NonNullable<UserMailSettings[K]>> : UserMailSettings[K];
};

/** The layer a value came from. */
export type SettingsSource = 'default' | 'user' | 'application';

/** Every effective value with the layer it came from (secrets masked). */
export type EffectiveSettings = Record<string, { value: unknown; source: SettingsSource }>;

type FieldType = 'string' | 'text' | 'address' | 'boolean' | 'port' | 'positive' | 'ehlo' | 'scopes' | readonly string[];

interface Field {
  type: FieldType;
  default?: unknown;
  secret?: boolean;
  /** Bounds of a 'positive' number; `max` is also the longest a 'text' may be (default 1000). */
  min?: number;
  max?: number;
}

/** The schema, as dotted paths. `text` may not contain CR/LF (it ends up in a header). */
const SCHEMA: Record<string, Field> = {
  label: { type: 'text', max: 256 },
  email: { type: 'address' },
  customize: { type: 'boolean', default: false },
  protocol: { type: ['smtp', 'mapi'] },
  'smtp.host': { type: 'text' },
  'smtp.port': { type: 'port', default: 25 },
  'smtp.security': { type: ['auto', 'starttls', 'tls', 'none'], default: 'auto' },
  'smtp.username': { type: 'text' },
  'smtp.password': { type: 'string', secret: true },
  'smtp.accessToken': { type: 'string', secret: true },
  'smtp.oauth2.provider': { type: ['microsoft', 'google', 'oidc'] },
  'smtp.oauth2.clientId': { type: 'text' },
  'smtp.oauth2.tenant': { type: 'text' },
  'smtp.oauth2.issuer': { type: 'text' },
  'smtp.oauth2.scopes': { type: 'scopes' },
  'smtp.oauth2.clientSecret': { type: 'string', secret: true },
  'smtp.oauth2.refreshToken': { type: 'string', secret: true },
  'smtp.senderName': { type: 'text', max: 256 },
  'smtp.replyTo': { type: 'address' },
  'smtp.allowInsecureAuth': { type: 'boolean' },
  'smtp.tls.ca': { type: 'string' },
  'smtp.tls.servername': { type: 'text' },
  'smtp.tls.rejectUnauthorized': { type: 'boolean' },
  'smtp.timeoutMs': { type: 'positive', min: 100, max: 600_000 },
  'smtp.deadlineMs': { type: 'positive', min: DEADLINE_BOUNDS.min, max: DEADLINE_BOUNDS.max },
  'smtp.name': { type: 'ehlo' },
  'mapi.profile': { type: 'text' },
  'mapi.password': { type: 'string', secret: true },
  'mapi.interface': { type: ['simple', 'extended'], default: 'simple' },
  'mapi.dialog': { type: 'boolean', default: false },
  'imap.host': { type: 'text' },
  'imap.port': { type: 'port', default: 993 },
  'imap.security': { type: ['auto', 'starttls', 'tls', 'none'], default: 'auto' },
  'imap.username': { type: 'text' },
  'imap.password': { type: 'string', secret: true },
  'imap.accessToken': { type: 'string', secret: true },
  'imap.sentFolder': { type: 'text' },
  'imap.allowInsecureAuth': { type: 'boolean' },
  'imap.tls.ca': { type: 'string' },
  'imap.tls.servername': { type: 'text' },
  'imap.tls.rejectUnauthorized': { type: 'boolean' },
  'imap.timeoutMs': { type: 'positive' },
  // No schema defaults for these two: absent means 'auto' and false, and settings listings stay as they were.
  sentCopy: { type: ['auto', 'imap', 'off'] },
  outbox: { type: 'boolean' },
  'defaults.readReceipt': { type: 'boolean', default: false },
  'defaults.deliveryReceipt': { type: 'boolean', default: false },
  'defaults.importance': { type: IMPORTANCE_LEVELS, default: 'normal' },
};

/** Dotted paths of the settings that hold secrets: never printed, never logged. */
export const SECRET_PATHS = Object.keys(SCHEMA).filter((p) => SCHEMA[p].secret);

/** The JSON type a setting takes, for tools that read values as text (`smtp.port=587`). */
export function settingKind(path: string): 'boolean' | 'number' | 'string' | undefined {
  const field = Object.hasOwn(SCHEMA, path) ? SCHEMA[path] : undefined;
  if (!field) return undefined;
  if (field.type === 'boolean') return 'boolean';
  if (field.type === 'port' || field.type === 'positive') return 'number';
  return 'string';
}

/** The mask shown in place of a secret. */
export const MASK = '********';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;

/** True for a host name that never leaves the machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Gmail's SMTP hosts (smtp.gmail.com, smtp.googlemail.com): app passwords and their hints apply. */
export function isGmailHost(host: string): boolean {
  return /(^|\.)(gmail|googlemail)\.com$/i.test(host);
}

/** Whether a password has the shape of a Google app password: 16 letters (shown as 4 groups of 4; spaces ignored). */
export function looksLikeAppPassword(password: string): boolean {
  return /^[a-z]{16}$/i.test(password.replace(/\s+/g, ''));
}

/** Flattens nested settings into dotted leaf paths; an array or null counts as a leaf. */
/** Names no settings key may take: the members of Object.prototype (`toString`, `constructor`, `__proto__`...). */
export const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype']);

/** The deepest nesting settings have (smtp.tls.ca is 3); anything deeper is refused, not walked. */
const MAX_DEPTH = 4;

/**
 * Flattens nested settings into dotted leaf paths; an array or null counts as a leaf. Own
 * enumerable properties only; a reserved name, a getter that throws or nesting deeper than any
 * setting is a problem (as the path '(reserved)', '(unreadable)', '(too deep)' records it).
 */
function flatten(input: unknown, prefix: string, out: Map<string, unknown>, problems?: Problem[], depth = 0): Map<string, unknown> {
  if (input && typeof input === 'object' && !Array.isArray(input) && !Buffer.isBuffer(input)) {
    if (depth >= MAX_DEPTH) {
      problems?.push(problem(prefix, text('INVALID_SETTINGS.tooDeep')));
      return out;
    }
    let entries: [string, unknown][];
    try {
      entries = Object.keys(input).map((key) => [key, (input as Record<string, unknown>)[key]]);
    } catch (err) {
      problems?.push(problem(prefix || '(settings)', text('INVALID_SETTINGS.unreadable', { error: (err as Error)?.message ?? String(err) })));
      return out;
    }
    for (const [key, value] of entries) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (RESERVED_KEYS.has(key)) {
        problems?.push(problem(path, text('INVALID_SETTINGS.reserved', { key })));
        continue;
      }
      if (value === undefined) continue;
      flatten(value, path, out, problems, depth + 1);
    }
  } else if (prefix) {
    out.set(prefix, input);
  }
  return out;
}

/**
 * Nests dotted paths back into objects. Every key of the schema is an own property of its section
 * (undefined when unset), so that code reading `settings.smtp.allowInsecureAuth` never reads a
 * value inherited from a polluted Object.prototype.
 */
function unflatten(flat: Map<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of flat) {
    const keys = path.split('.');
    if (keys.some((k) => RESERVED_KEYS.has(k))) continue;
    let node = root;
    for (const key of keys.slice(0, -1)) {
      if (!Object.hasOwn(node, key) || node[key] === undefined) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  for (const path of Object.keys(SCHEMA)) {
    const keys = path.split('.');
    let node: Record<string, unknown> | undefined = root;
    for (const [i, key] of keys.entries()) {
      if (!node || typeof node !== 'object') break;
      if (!Object.hasOwn(node, key)) node[key] = undefined;
      node = i < keys.length - 1 ? (node[key] as Record<string, unknown> | undefined) : undefined;
    }
  }
  return root;
}

function checkField(path: string, value: unknown, problems: Problem[]): void {
  const field = Object.hasOwn(SCHEMA, path) ? SCHEMA[path] : undefined;
  if (!field) {
    if (Object.keys(SCHEMA).some((p) => p.startsWith(`${path}.`))) {
      problems.push(problem(path, text('INVALID_SETTINGS.object')));
      return;
    }
    problems.push(problem(path, unknownSettingText(path)));
    return;
  }
  const { type } = field;
  const bad = (message: Text | string) => problems.push(problem(path, message));
  if (Array.isArray(type)) {
    if (!type.includes(value as string)) bad(text('INVALID_SETTINGS.oneOf', { values: type.map((t) => `'${t}'`).join(', ') }));
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') bad(text('INVALID_SETTINGS.boolean'));
  } else if (type === 'port') {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) bad(text('INVALID_SETTINGS.port'));
  } else if (type === 'positive') {
    const { min = 1, max = Number.MAX_SAFE_INTEGER } = field;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) bad(text('INVALID_SETTINGS.integerRange', { min, max }));
  } else if (type === 'ehlo') {
    if (typeof value !== 'string' || !isEhloName(value)) bad(text('INVALID_SETTINGS.ehlo'));
  } else if (type === 'scopes') {
    const tokens = scopeTokens(value);
    if (!tokens) bad(text('INVALID_SETTINGS.scopes'));
    else if (!tokens.length) bad(text('INVALID_SETTINGS.scopesEmpty'));
    else if (tokens.some((t) => !SCOPE_TOKEN.test(t))) bad(text('INVALID_SETTINGS.scopeCharacter'));
  } else if (typeof value !== 'string') {
    bad(text('INVALID_SETTINGS.string'));
  } else if (type === 'address') {
    const wrong = checkAddress(value);
    if (wrong) bad(wrong);
  } else if (type === 'text' && hasLineBreak(value)) {
    bad(text('INVALID_SETTINGS.lineBreak'));
  } else if (type === 'text' && forbiddenCharacter(value)) {
    bad(text('INVALID_SETTINGS.invisible', { character: forbiddenCharacter(value) }));
  } else if (type === 'text' && value.length > (field.max ?? 1000)) {
    bad(text('INVALID_SETTINGS.textLength', { max: field.max ?? 1000 }));
  }
}

/** RFC 6749 scope-token: printable ASCII except space, `"` and backslash. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The scopes of a string (space-separated) or an array (one per item, as files may write them); undefined for anything else. */
function scopeTokens(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[ \t]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => v.trim()).filter(Boolean);
  return undefined;
}

/**
 * Why a dotted key is not a setting, with the keys of the object it was meant for: `smtp.prot` is
 * answered with "did you mean smtp.port?" and the smtp keys; `smtpp.port` with the top-level ones.
 */
export function unknownSettingMessage(path: string): string {
  return format(unknownSettingText(path));
}

/** The same, as a catalog Text. */
export function unknownSettingText(path: string, named = false): Text {
  const parts = path.split('.');
  let depth = 0;
  // The first segment that names nothing at its level is the misspelt one.
  while (depth < parts.length - 1 && Object.keys(SCHEMA).some((p) => p.startsWith(`${parts.slice(0, depth + 1).join('.')}.`))) depth++;
  const parent = parts.slice(0, depth).join('.');
  const keys = [
    ...new Set(
      Object.keys(SCHEMA)
        .filter((p) => !parent || p.startsWith(`${parent}.`))
        .map((p) => p.split('.')[depth]),
    ),
  ];
  const guess = closest(parts[depth], keys);
  const name = (k: string) => (parent ? `${parent}.${k}` : k);
  const known = keys.join(', ');
  const list = parent ? text('INVALID_SETTINGS.unknown.parentKeys', { parent, known }) : text('INVALID_SETTINGS.unknown.keys', { known });
  if (named)
    return guess ? text('INVALID_SETTINGS.unknown.namedDidYouMean', { path, name: name(guess), list }) : text('INVALID_SETTINGS.unknown.named', { path, list });
  return guess ? text('INVALID_SETTINGS.unknown.didYouMean', { name: name(guess), list }) : text('INVALID_SETTINGS.unknown.list', { list });
}

/** Cross-field rules: what each mode needs, and settings that contradict each other. */
function checkCombination(s: UserMailSettings, problems: Problem[], warnings: MailWarning[]): void {
  if (s.customize && !s.protocol) {
    problems.push(problem('protocol', text('INVALID_SETTINGS.protocolRequired')));
  }
  if (s.customize && s.protocol === 'smtp') {
    if (!s.smtp?.host) problems.push(problem('smtp.host', text('INVALID_SETTINGS.hostRequired')));
    if (!s.email) problems.push(problem('email', text('INVALID_SETTINGS.emailRequired')));
  }
  checkImap(s, problems);
  const smtp = s.smtp;
  if (!smtp) return;
  if (smtp.port === 465 && (smtp.security === 'starttls' || smtp.security === 'none')) {
    problems.push(problem('smtp.security', text('INVALID_SETTINGS.port465', { security: smtp.security }), text('INVALID_SETTINGS.hint.port465')));
  }
  if (smtp.security === 'tls' && smtp.port !== 465) {
    warnings.push(warning('TLS_ON_STARTTLS_PORT', text('TLS_ON_STARTTLS_PORT', { port: smtp.port })));
  }
  if (smtp.oauth2) checkOAuth2(smtp, problems);
  else if ((smtp.username === undefined) !== (smtp.password === undefined && smtp.accessToken === undefined)) {
    problems.push(
      problem(
        smtp.username === undefined ? 'smtp.username' : 'smtp.password',
        text('INVALID_SETTINGS.credentialsTogether'),
        text('INVALID_SETTINGS.hint.credentialsTogether'),
      ),
    );
  }
  const hasSecret = smtp.password !== undefined || smtp.accessToken !== undefined || smtp.oauth2 !== undefined;
  if (hasSecret && smtp.security === 'none' && smtp.host && !isLoopback(smtp.host) && !smtp.allowInsecureAuth) {
    problems.push(
      problem(
        'smtp.security',
        text(smtp.oauth2 ? 'INVALID_SETTINGS.clearToken' : 'INVALID_SETTINGS.clearPassword', { host: smtp.host }),
        text('INVALID_SETTINGS.hint.clearPassword'),
      ),
    );
  }
  if (smtp.host && isGmailHost(smtp.host) && smtp.password !== undefined) {
    smtp.password = smtp.password.replace(/\s+/g, '');
    if (!looksLikeAppPassword(smtp.password)) {
      warnings.push(warning('GMAIL_APP_PASSWORD', text('GMAIL_APP_PASSWORD', { steps: text('GMAIL_APP_PASSWORD.steps') })));
    }
  }
}

/** The IMAP account's own rules: a host when a copy is asked for, credentials that go together, no password in clear. */
function checkImap(s: UserMailSettings, problems: Problem[]): void {
  const imap = s.imap;
  if (s.sentCopy === 'imap' && !imap?.host) {
    problems.push(problem('imap.host', text('INVALID_SETTINGS.imapHostSentCopy')));
  }
  if (!imap) return;
  if (!imap.host) problems.push(problem('imap.host', text('INVALID_SETTINGS.imapHost')));
  if (imap.port === 993 && (imap.security === 'starttls' || imap.security === 'none')) {
    problems.push(problem('imap.security', text('INVALID_SETTINGS.imapPort993', { security: imap.security }), text('INVALID_SETTINGS.hint.imapPort993')));
  }
  if (imap.username !== undefined && imap.password === undefined && imap.accessToken === undefined) {
    problems.push(problem('imap.password', text('INVALID_SETTINGS.imapPassword')));
  }
  if (imap.username === undefined && (imap.password !== undefined || imap.accessToken !== undefined)) {
    problems.push(problem('imap.username', text('INVALID_SETTINGS.imapUsername')));
  }
  const secret = imap.password ?? imap.accessToken ?? (imap.username === undefined ? (s.smtp?.password ?? s.smtp?.accessToken) : undefined);
  if (secret !== undefined && imap.security === 'none' && imap.host && !isLoopback(imap.host) && !imap.allowInsecureAuth) {
    problems.push(problem('imap.security', text('INVALID_SETTINGS.clearPassword', { host: imap.host }), text('INVALID_SETTINGS.hint.imapClearPassword')));
  }
}

/**
 * smtp.oauth2: what each provider needs. A refresh token is not required: settings without one are
 * the state before `oxymail auth login`.
 */
function checkOAuth2(smtp: SmtpSettings, problems: Problem[]): void {
  const o = smtp.oauth2 as Partial<OAuth2Settings>;
  const at = (key: string) => `smtp.oauth2.${key}`;
  if (!o.provider) problems.push(problem(at('provider'), text('INVALID_SETTINGS.oauth2.provider')));
  if (!o.clientId) problems.push(problem(at('clientId'), text('INVALID_SETTINGS.oauth2.clientId'), text('INVALID_SETTINGS.hint.oauth2.clientId')));
  if (o.provider === 'oidc') {
    if (!o.issuer) problems.push(problem(at('issuer'), text('INVALID_SETTINGS.oauth2.issuer')));
    else {
      const problem = issuerProblem(o.issuer);
      if (problem) problems.push({ path: at('issuer'), message: problem });
    }
    if (!o.scopes) problems.push(problem(at('scopes'), text('INVALID_SETTINGS.oauth2.scopes')));
  } else if (o.provider && o.issuer !== undefined) {
    problems.push(problem(at('issuer'), text('INVALID_SETTINGS.oauth2.issuerPreset', { provider: o.provider })));
  }
  if (o.provider && o.provider !== 'microsoft' && o.tenant !== undefined) {
    problems.push(problem(at('tenant'), text('INVALID_SETTINGS.oauth2.tenantMicrosoft')));
  } else if (o.tenant !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(o.tenant)) {
    problems.push(problem(at('tenant'), text('INVALID_SETTINGS.oauth2.tenant')));
  }
  for (const key of ['password', 'accessToken'] as const) {
    if (smtp[key] !== undefined) {
      problems.push(problem(`smtp.${key}`, text('INVALID_SETTINGS.oauth2.contradicts'), text('INVALID_SETTINGS.hint.oauth2.remove', { key })));
    }
  }
}

/** Options for validateSettings. */
export interface ValidateOptions {
  /** Receives warnings (Gmail app password, TLS on a STARTTLS port...). */
  onWarning?: (warning: MailWarning) => void;
}

/**
 * Normalises settings and applies defaults, or throws MailError INVALID_SETTINGS listing every
 * problem with its field path.
 */
export function validateSettings(input: unknown, options: ValidateOptions = {}): UserMailSettings {
  return resolveSettings(input, undefined, options).settings;
}

/** A provider preset fills in what the settings leave out: its scopes, its tenant, and its SMTP server when smtp.host is unset. */
function applyOAuth2Preset(flat: Map<string, unknown>, source: Map<string, SettingsSource>): void {
  const provider = flat.get('smtp.oauth2.provider');
  if (typeof provider !== 'string' || !Object.hasOwn(OAUTH2_PRESETS, provider)) return;
  const preset = OAUTH2_PRESETS[provider as OAuth2Provider];
  const fill = (path: string, value: unknown) => {
    if (value === undefined || flat.has(path)) return;
    flat.set(path, value);
    source.set(path, 'default');
  };
  fill('smtp.oauth2.scopes', preset.scopes);
  fill('smtp.oauth2.tenant', preset.tenant);
  if (preset.smtp && !flat.has('smtp.host')) {
    fill('smtp.host', preset.smtp.host);
    fill('smtp.port', preset.smtp.port);
    fill('smtp.security', preset.smtp.security);
  }
}

/** The effective settings of a user with an application's overrides, and where each value came from. */
export interface ResolvedSettings {
  settings: UserMailSettings;
  effective: EffectiveSettings;
  warnings: MailWarning[];
}

/** Layers defaults, the user's settings and an application's overrides, then validates the result. */
export function resolveSettings(user: unknown, overrides?: unknown, options: ValidateOptions = {}): ResolvedSettings {
  const problems: Problem[] = [];
  const layers: [SettingsSource, unknown][] = [['user', user ?? {}]];
  if (overrides !== undefined) layers.push(['application', overrides]);
  const flat = new Map<string, unknown>();
  const source = new Map<string, SettingsSource>();
  for (const [name, layer] of layers) {
    if (!layer || typeof layer !== 'object' || Array.isArray(layer)) {
      problems.push(problem(name === 'user' ? '(settings)' : '(overrides)', text('INVALID_SETTINGS.object')));
      continue;
    }
    for (const [path, value] of flatten(layer, '', new Map(), problems)) {
      checkField(path, value, problems);
      flat.set(path, value);
      source.set(path, name);
    }
  }
  const scopes = flat.get('smtp.oauth2.scopes');
  if (scopes !== undefined && !problems.some((p) => p.path === 'smtp.oauth2.scopes'))
    flat.set('smtp.oauth2.scopes', (scopeTokens(scopes) as string[]).join(' '));
  applyOAuth2Preset(flat, source);
  const sections = new Set([...flat.keys()].map((p) => p.split('.')[0]));
  for (const [path, field] of Object.entries(SCHEMA)) {
    if (field.default === undefined || flat.has(path)) continue;
    const section = path.split('.')[0];
    if ((section === 'smtp' || section === 'mapi' || section === 'imap') && !sections.has(section)) continue;
    flat.set(path, field.default);
    source.set(path, 'default');
  }
  // The combination rules run on the fields that passed, so one error lists every problem; a
  // field already reported is not reported again as missing.
  const reported = new Set(problems.map((p) => p.path));
  for (const path of reported) flat.delete(path);
  const settings = unflatten(flat) as unknown as UserMailSettings;
  const warnings: MailWarning[] = [];
  const combination: Problem[] = [];
  checkCombination(settings, combination, warnings);
  problems.push(...combination.filter((p) => !reported.has(p.path)));
  if (problems.length) failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS'), problems);
  warnings.forEach((w) => options.onWarning?.(w));
  const effective: EffectiveSettings = {};
  for (const [path, value] of flatten(settings, '', new Map())) {
    effective[path] = { value: Object.hasOwn(SCHEMA, path) && SCHEMA[path].secret ? MASK : value, source: source.get(path) ?? 'default' };
  }
  return { settings, effective, warnings };
}

/** A copy of the settings with every secret replaced by the mask, safe to print or log. */
export function maskSecrets(settings: UserMailSettings): UserMailSettings {
  const flat = flatten(settings, '', new Map());
  for (const path of SECRET_PATHS) if (flat.has(path)) flat.set(path, MASK);
  return unflatten(flat) as unknown as UserMailSettings;
}

/**
 * JSON.parse for files that may hold secrets. Node's own message quotes the text around the fault
 * (a password, when the fault is an unquoted one), so on failure the error names only the line,
 * the column and the kind of fault, located by jsonc-parser in strict JSON mode. With `comments`
 * (files people write: --settings, settings import), line and block comments are allowed.
 */
export function parseSettingsJson(source: string, what: string | Text, options: { comments?: boolean } = {}): unknown {
  try {
    // Comments become spaces, so JSON.parse keeps its semantics (own __proto__ keys...) and offsets stay right.
    return JSON.parse(options.comments ? jsoncParser().stripComments(source, ' ') : source);
  } catch {
    const errors: ParseError[] = [];
    const { parse: parseJsonc, printParseErrorCode } = jsoncParser();
    parseJsonc(source, errors, { disallowComments: !options.comments, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const offset = first?.offset ?? source.length;
    const before = source.slice(0, offset).split('\n');
    const where = text('INVALID_SETTINGS.jsonWhere', { line: before.length, column: before[before.length - 1].length + 1 });
    const kind = first ? printParseErrorCode(first.error) : 'InvalidJson';
    return failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS.notJson', { what }), [
      problem('(file)', text('INVALID_SETTINGS.jsonFault', { kind, where })),
    ]);
  }
}
