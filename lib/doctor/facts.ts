/**
 * Turns a probe's raw readings into the facts the verdicts judge: the session, the default mail
 * client and its DLLs, the SMTP server as seen from here, the managed relay. All I/O goes through
 * the probe; nothing here decides what is good or bad. No secret ends up in the facts.
 */
import type { TokenSource } from '../oauth/token-source';
import { localizeError, MailError } from '../errors';
import { format, text, textList } from '../i18n';
import { isGmailHost, looksLikeAppPassword } from '../settings';
import type { SettingsInput, UserMailSettings } from '../settings';
import { ManagedRelay, MANAGED_HINT, resolveRelay } from '../transports/managed';
import type { SmtpEndpoint } from '../settings';
import { PE_HEAD_BYTES, PeHeader, readPeHeader } from './pe';
import type { ConnectFact, HandshakeFact, LoginFact, LookupFact, Probe } from './probe';
import { DOCTOR_TIMEOUT_MS } from './smtp-probe';

/** The Windows session the process runs in. */
export interface SessionFacts {
  /** SESSIONNAME: `Console` locally, `RDP-Tcp#n` under Remote Desktop, `ICA-TCP#n`/`ICA-CGP#n`/`ICA-SSL#n` under Citrix. */
  sessionName: string | null;
  /** CLIENTNAME: in a remote session, the user's own PC. */
  clientName: string | null;
  /** Names of Citrix variables present (CITRIX_*, CTX*). */
  citrixVariables: string[];
}

/** One of a mail client's MAPI DLL values and what is on disk there. */
export interface DllFact {
  value: 'DLLPath' | 'DLLPathEx';
  /** As registered (REG_EXPAND_SZ variables expanded). */
  path: string;
  /** False for a bare name (`mapi32.dll`) that Windows finds in its own folders: not checked. */
  absolute: boolean;
  exists: boolean | null;
  readError?: string;
  pe?: PeHeader;
}

/** The default mail client as the registry names it. */
export interface MailClientFacts {
  name: string;
  /** Where the default was found: HKCU overrides HKLM. */
  hive: 'HKCU' | 'HKLM';
  /** The hive holding the client's own key (DLLPath...), null when no such key was found. */
  keyHive: 'HKCU' | 'HKLM' | null;
  dlls: DllFact[];
  /** The client's shell\open\command, which names the program (olk.exe for the new Outlook). */
  openCommand: string | null;
}

/** MAPI on this machine. */
export type MapiFacts = { available: false; reason: string } | { available: true; client: MailClientFacts | null; registryError?: string };

/** The user's SMTP server as seen from here. Later steps are absent when an earlier one failed. */
export interface SmtpFacts {
  host: string;
  port: number;
  security: string;
  username: string | null;
  auth: 'password' | 'oauth2' | 'none';
  /** For Gmail: whether the password has an app password's shape (16 letters once spaces are removed). */
  appPasswordShape: boolean | null;
  dns: LookupFact;
  tcp?: ConnectFact;
  handshake?: HandshakeFact;
  login?: LoginFact;
  /** Why the login was not tried although credentials are set (a secret that cannot be opened here). */
  loginSkipped?: string;
}

/** The suite's relay. */
export type ManagedFacts =
  | { configured: true; source: 'options' | 'environment'; host: string; port: number; security: string; assignedAddress: string }
  | { configured: false; problem: string | null; hint: string };

/** Everything the verdicts read. JSON-serialisable. */
export interface DoctorFacts {
  platform: string;
  arch: string;
  session: SessionFacts;
  mapi: MapiFacts;
  smtp: SmtpFacts | null;
  managed: ManagedFacts;
}

const MAIL_KEY = 'Software\\Clients\\Mail';

/** An environment variable, case-insensitively as Windows reads them. */
export function envValue(env: Record<string, string | undefined>, name: string): string | null {
  if (env[name] !== undefined) return env[name] as string;
  const key = Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase());
  return key !== undefined && env[key] !== undefined ? (env[key] as string) : null;
}

/**
 * Citrix sets SESSIONNAME to ICA-...; CITRIX_* and CTX* variables are also seen in its sessions.
 * ICAROOT is not one of them: it marks the Citrix *client* (Workspace app) installed on a PC.
 */
const CITRIX_VARIABLE = /^(CITRIX_|CTX)/i;

/** The session facts, from the environment only. */
export function sessionFacts(env: Record<string, string | undefined>): SessionFacts {
  return {
    sessionName: envValue(env, 'SESSIONNAME'),
    clientName: envValue(env, 'CLIENTNAME'),
    citrixVariables: Object.keys(env)
      .filter((k) => CITRIX_VARIABLE.test(k) && env[k] !== undefined)
      .sort(),
  };
}

/** %VAR% expansion as Windows does it for REG_EXPAND_SZ; an unknown variable is left as is. */
export function expandEnv(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/%([^%]+)%/g, (all, name: string) => envValue(env, name) ?? all);
}

/** One DLL value: the path as registered, and the PE header of the file there when it is absolute (its reason, if unreadable, in `locale`). */
export async function readDll(probe: Pick<Probe, 'readFileHead'>, value: DllFact['value'], raw: string, locale?: string): Promise<DllFact> {
  const path = raw.trim().replace(/^"(.*)"$/, '$1');
  const absolute = /^[a-zA-Z]:[\\/]|^\\\\/.test(path);
  if (!absolute) return { value, path, absolute, exists: null };
  const head = await probe.readFileHead(path, PE_HEAD_BYTES);
  if (!head.exists) return { value, path, absolute, exists: false };
  if ('error' in head) return { value, path, absolute, exists: true, readError: head.error };
  return { value, path, absolute, exists: true, pe: readPeHeader(head.head, locale) };
}

/** What reading the default mail client needs: registry values, file heads, the environment (REG_EXPAND_SZ). */
export type ClientReader = Pick<Probe, 'readRegistry' | 'readFileHead' | 'env'>;

/**
 * The default mail client and its MAPI DLLs (PE headers read), or null when none is set. HKCU's
 * choice overrides HKLM's, as MAPI32 reads them. Throws when the registry cannot be read.
 * Shared by the doctor and the check a MAPI send makes before its first call (bitness.ts).
 */
export async function readDefaultClient(probe: ClientReader, locale?: string): Promise<MailClientFacts | null> {
  let found: { name: string; hive: 'HKCU' | 'HKLM' } | null = null;
  for (const hive of ['HKCU', 'HKLM'] as const) {
    const v = await probe.readRegistry(`${hive}\\${MAIL_KEY}`, null);
    if (v && v.data.trim()) {
      found = { name: v.data.trim(), hive };
      break;
    }
  }
  if (!found) return null;
  const { name, hive } = found;
  // A client chosen in HKCU usually keeps its key (and DLLPath) in HKLM, where installers write it.
  for (const keyHive of hive === 'HKCU' ? (['HKCU', 'HKLM'] as const) : (['HKLM'] as const)) {
    const key = `${keyHive}\\${MAIL_KEY}\\${name}`;
    const values = await Promise.all((['DLLPath', 'DLLPathEx'] as const).map(async (v) => [v, await probe.readRegistry(key, v)] as const));
    const command = await probe.readRegistry(`${key}\\shell\\open\\command`, null);
    if (!values.some(([, r]) => r) && !command) continue;
    const dlls: DllFact[] = [];
    for (const [value, reg] of values) {
      if (reg) dlls.push(await readDll(probe, value, reg.type === 'REG_EXPAND_SZ' ? expandEnv(reg.data, probe.env) : reg.data, locale));
    }
    return { name, hive, keyHive, dlls, openCommand: command?.data ?? null };
  }
  return { name, hive, keyHive: null, dlls: [], openCommand: null };
}

/** MAPI on this machine: the default mail client, or why it could not be read. */
async function mapiFacts(probe: Probe, locale: string | undefined): Promise<MapiFacts> {
  if (probe.platform !== 'win32') return { available: false, reason: format(text('MAPI_UNAVAILABLE.notWindows', { platform: probe.platform }), locale) };
  try {
    return { available: true, client: await readDefaultClient(probe, locale) };
  } catch (err) {
    return { available: true, client: null, registryError: (err as Error).message };
  }
}

/** DNS, then TCP, then the EHLO handshake, then (with credentials) the login; each only if the previous worked. */
async function smtpFacts(
  probe: Probe,
  settings: UserMailSettings,
  raw: SettingsInput,
  unreadable: string[],
  oauth: GatherInput['oauth'],
  locale: string | undefined,
): Promise<SmtpFacts | null> {
  const s = settings.smtp;
  if (!s?.host) return null;
  const timeout = s.timeoutMs ?? DOCTOR_TIMEOUT_MS;
  // An unreadable password has no shape to judge: appPasswordShape stays null.
  const gmail = isGmailHost(s.host) && !unreadable.includes('smtp.password');
  const unreadableSmtp = unreadable.filter((p) => p.startsWith('smtp.'));
  const facts: SmtpFacts = {
    host: s.host,
    port: s.port,
    security: s.security,
    username: s.username ?? null,
    auth: s.accessToken !== undefined || s.oauth2 ? 'oauth2' : s.password !== undefined ? 'password' : 'none',
    appPasswordShape: gmail && s.password !== undefined ? looksLikeAppPassword(s.password) : null,
    dns: await probe.lookup(s.host, timeout),
  };
  if (!facts.dns.ok) return facts;
  facts.tcp = await probe.connect(s.host, s.port, timeout);
  if (!facts.tcp.ok) return facts;
  const endpoint: SmtpEndpoint = {
    host: s.host,
    port: s.port,
    security: s.security,
    username: s.username,
    password: s.password,
    accessToken: s.accessToken,
    allowInsecureAuth: s.allowInsecureAuth,
    tls: s.tls,
    timeoutMs: timeout,
  };
  facts.handshake = await probe.smtpHandshake(endpoint);
  if (facts.handshake.ok && (s.username !== undefined || s.oauth2)) {
    if (unreadableSmtp.length)
      facts.loginSkipped = format(text('doctor.login.unreadable', { paths: textList(unreadableSmtp, format(text('doctor.and'), locale)) }), locale);
    else if (s.oauth2 && !oauth?.tokenSource) facts.loginSkipped = oauth?.skipped ?? format(text('doctor.login.oauth2NotChecked'), locale);
    else facts.login = await probe.smtpLogin(raw, oauth?.tokenSource);
  }
  return facts;
}

function managedFacts(given: ManagedRelay | undefined, env: Record<string, string | undefined>, locale: string | undefined): ManagedFacts {
  try {
    const relay = resolveRelay(given, env as NodeJS.ProcessEnv);
    if (!relay) return { configured: false, problem: null, hint: format(MANAGED_HINT, locale) };
    return {
      configured: true,
      source: given ? 'options' : 'environment',
      host: relay.host,
      port: relay.port ?? 25,
      security: relay.security ?? 'auto',
      assignedAddress: relay.assignedAddress,
    };
  } catch (err) {
    const e = locale === undefined ? err : localizeError(err, locale);
    return { configured: false, problem: (e as Error).message, hint: e instanceof MailError && e.hint ? e.hint : format(MANAGED_HINT, locale) };
  }
}

/** What gatherFacts needs: validated settings (and the raw input, for the login), the relay. */
export interface GatherInput {
  settings?: UserMailSettings;
  rawSettings?: SettingsInput;
  managed?: ManagedRelay;
  /** Dotted paths of secrets that could not be opened here (masked in `settings`): no login with them. */
  unreadableSecrets?: string[];
  /** With smtp.oauth2: the token source whose refresh worked (the XOAUTH2 login uses it), or why the login is skipped. */
  oauth?: { tokenSource?: TokenSource; skipped?: string };
  /** The language of the facts' words (why MAPI is unavailable, why the login was skipped...); default: the process default. */
  locale?: string;
}

/** Reads every fact through the probe. Never throws: a failed reading is a fact too. */
export async function gatherFacts(probe: Probe, input: GatherInput = {}): Promise<DoctorFacts> {
  const [mapi, smtp] = await Promise.all([
    mapiFacts(probe, input.locale),
    input.settings
      ? smtpFacts(probe, input.settings, input.rawSettings ?? input.settings, input.unreadableSecrets ?? [], input.oauth, input.locale)
      : Promise.resolve(null),
  ]);
  return {
    platform: probe.platform,
    arch: probe.arch,
    session: sessionFacts(probe.env),
    mapi,
    smtp,
    managed: managedFacts(input.managed, probe.env, input.locale),
  };
}
