/**
 * `oxymail doctor`: which protocol will work for this user on this machine, and why. runDoctor
 * reads the machine through a probe (facts.ts), judges the facts (verdicts.ts), and
 * formatDoctorReport prints the lines for a person.
 */
import { promises as fs } from 'node:fs';
import { MailError } from '../errors';
import { maskSecrets, resolveSettings, SettingsInput, UserMailSettings } from '../settings';
import type { ManagedRelay } from '../transports/managed';
import { gatherFacts } from './facts';
import { Probe, ProfilesFact, systemProbe } from './probe';
import { DoctorLine, DoctorReport, judge, RecommendationChoice, Verdict } from './verdicts';
import { checkOAuth2, oauthLine } from './oauth';
import { shellWord } from '../store/store';
import type { OnTokens, TokenSource } from '../oauth/token-source';

export { systemProbe, parseRegQuery } from './probe';
export type { Probe, RegistryValue, FileHead, LookupFact, ConnectFact, HandshakeFact, LoginFact } from './probe';
export { gatherFacts } from './facts';
export type { DoctorFacts, SessionFacts, MapiFacts, MailClientFacts, DllFact, SmtpFacts, ManagedFacts } from './facts';
export { judge, classifySession, isNewOutlook } from './verdicts';
export type { DoctorReport, DoctorLine, Verdict, RecommendationChoice, JudgeInput } from './verdicts';
export { readPeHeader, PE_MACHINES } from './pe';
export type { PeHeader, PeArch } from './pe';

/** What to examine: the user's settings (optional), the suite's relay, and the probe (tests pass a fake). */
export interface DoctorOptions {
  settings?: SettingsInput | UserMailSettings;
  managed?: ManagedRelay;
  probe?: Probe;
  /** The settings store file: on a system without DPAPI its secrets are protected only by its permissions. */
  storePath?: string;
  /**
   * Secrets of `settings` that could not be opened here (the store's getReadable()): each is a
   * FAIL line, the secret is left masked in `settings`, and the login that needs it is not tried.
   */
  unreadableSecrets?: { path: string; error: MailError }[];
  /** Why the user's settings could not be read at all (an invalid store): a FAIL line; the machine is still checked. */
  settingsError?: MailError;
  /**
   * With smtp.oauth2: the token source to check (the store's tokenSourceFor(), which saves a
   * rotated refresh token), or onTokens to save it yourself. With neither, the refresh is not tried.
   */
  tokenSource?: TokenSource;
  onTokens?: OnTokens;
  /** The user id, for the `oxymail auth login <user>` hint. */
  userId?: string;
}

/** The MAPI profiles an administrator can put in mapi.profile. */
export function profilesLine(fact: ProfilesFact): DoctorLine {
  if (!fact.ok)
    return {
      id: 'mapi.profiles',
      verdict: 'warn',
      title: `MAPI profiles cannot be listed (${fact.code})`,
      detail: [fact.message, fact.hint].filter(Boolean).join(' '),
    };
  if (!fact.profiles.length)
    return { id: 'mapi.profiles', verdict: 'warn', title: 'No MAPI profile', detail: 'Open the mail client once to create its profile.' };
  const names = fact.profiles.map((p) => (p.isDefault ? `${p.name} (default)` : p.name)).join(', ');
  return { id: 'mapi.profiles', verdict: 'info', title: `MAPI profiles: ${names}`, detail: 'Leave mapi.profile empty for the default one.' };
}

/** Warns when the settings file (which holds passwords in clear text outside Windows) is readable by others. */
export async function storePermissionsLine(file: string, platform: string): Promise<DoctorLine | undefined> {
  if (platform === 'win32')
    return { id: 'store', verdict: 'info', title: `Settings store ${file}`, detail: 'Secrets are sealed with DPAPI for this Windows user.' };
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat) return undefined;
  const open = stat.mode & 0o077;
  return open
    ? {
        id: 'store',
        verdict: 'warn',
        title: `Settings store ${file} is readable by other users (mode ${(stat.mode & 0o777).toString(8)})`,
        detail: `It holds passwords: chmod 600 ${file}`,
      }
    : { id: 'store', verdict: 'ok', title: `Settings store ${file} is private (mode 600)`, detail: '' };
}

/**
 * The store's previous version (`users.json.bak`) holds the same secrets: it must be a private
 * regular file too. A symlink there is a FAIL (a writer that followed it would overwrite its
 * target with the store); readable by others a WARN. (This oxymail replaces a symlinked .bak and
 * writes it 0600; older versions did neither.)
 */
export async function storeBackupLine(file: string, platform: string): Promise<DoctorLine | undefined> {
  const bak = `${file}.bak`;
  const stat = await fs.lstat(bak).catch(() => undefined);
  if (!stat) return undefined;
  if (stat.isSymbolicLink()) {
    return {
      id: 'store.bak',
      verdict: 'fail',
      title: `Settings backup ${bak} is a symbolic link`,
      detail: `Remove it (rm ${bak}): the next write makes a real one.`,
    };
  }
  if (!stat.isFile()) return { id: 'store.bak', verdict: 'fail', title: `Settings backup ${bak} is not a regular file`, detail: `Remove or rename ${bak}.` };
  if (platform === 'win32') return undefined;
  const open = stat.mode & 0o077;
  return open
    ? {
        id: 'store.bak',
        verdict: 'warn',
        title: `Settings backup ${bak} is readable by other users (mode ${(stat.mode & 0o777).toString(8)})`,
        detail: `It holds the previous passwords: chmod 600 ${bak}`,
      }
    : { id: 'store.bak', verdict: 'ok', title: `Settings backup ${bak} is private (mode 600)`, detail: '' };
}

/** Examines this machine (and the user's settings, when given) and returns the verdicts and a recommendation. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const probe = options.probe ?? systemProbe();
  let settings: UserMailSettings | undefined;
  let settingsProblems: string[] | undefined;
  if (options.settingsError) {
    const e = options.settingsError;
    settingsProblems = e.problems?.length ? e.problems.map((p) => `${p.path}: ${p.message}`) : [e.message];
  } else if (options.settings !== undefined) {
    try {
      settings = resolveSettings(options.settings).settings;
    } catch (err) {
      if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw err;
      settingsProblems = (err.problems ?? []).map((p) => `${p.path}: ${p.message}`);
    }
  }
  const unreadable = options.unreadableSecrets ?? [];
  const oauth = settings
    ? await checkOAuth2(settings, {
        tokenSource: options.tokenSource,
        onTokens: options.onTokens,
        unreadable: unreadable.map((u) => u.path),
        loginCommand: `oxymail auth login ${options.userId ? shellWord(options.userId) : 'USER'}`,
      })
    : undefined;
  const facts = await gatherFacts(probe, {
    oauth,
    settings,
    rawSettings: options.settings as SettingsInput | undefined,
    managed: options.managed,
    unreadableSecrets: unreadable.map((u) => u.path),
  });
  const report = judge({
    facts,
    settings: settings && maskSecrets(settings),
    settingsProblems,
    unreadableSecrets: unreadable.map((u) => ({ path: u.path, code: u.error.code, message: u.error.message, hint: u.error.hint })),
  });
  if (oauth) {
    const line = oauthLine(oauth, facts.smtp?.login);
    const after = report.lines.map((l) => l.id.startsWith('smtp.')).lastIndexOf(true);
    report.lines.splice(after < 0 ? report.lines.length : after + 1, 0, line);
    if (line.verdict === 'fail') report.failed = true;
  }
  if (probe.mapiProfiles && facts.mapi.available && facts.mapi.client) {
    const fact = await probe.mapiProfiles();
    report.lines.push(profilesLine(fact));
  }
  const store = options.storePath ? await storePermissionsLine(options.storePath, probe.platform) : undefined;
  if (store) report.lines.push(store);
  const backup = options.storePath ? await storeBackupLine(options.storePath, probe.platform) : undefined;
  if (backup) report.lines.push(backup);
  return report;
}

const TAGS: Record<Verdict, { text: string; color: string }> = {
  ok: { text: 'ok  ', color: '32' },
  warn: { text: 'WARN', color: '33' },
  fail: { text: 'FAIL', color: '31' },
  info: { text: 'info', color: '36' },
};

const CHOICES: Record<RecommendationChoice, string> = {
  smtp: 'SMTP',
  mapi: 'MAPI',
  'mapi-or-smtp': 'MAPI or SMTP',
  managed: 'managed relay',
};

/** The report as lines for a terminal: a verdict per line, its detail indented, the recommendation last. */
export function formatDoctorReport(report: DoctorReport, options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = [];
  for (const line of report.lines) {
    const tag = TAGS[line.verdict];
    out.push(`${paint(tag.color, tag.text)}  ${line.title}`);
    if (line.detail) out.push(`      ${paint('2', line.detail)}`);
  }
  out.push('');
  out.push(`${paint('1', `Recommendation: ${CHOICES[report.recommendation.choice]}`)}`);
  out.push(`  ${report.recommendation.words}`);
  return out.join('\n') + '\n';
}
