/**
 * `oxymail doctor`: which protocol will work for this user on this machine, and why. runDoctor
 * reads the machine through a probe (facts.ts), judges the facts (verdicts.ts), and
 * formatDoctorReport prints the lines for a person.
 */
import { promises as fs } from 'node:fs';
import { localizeError, MailError } from '../errors';
import { translator } from '../i18n';
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
  /** The language of the report (default: the process default locale: OXYMAIL_LANG, LANG...). */
  locale?: string;
}

/** The MAPI profiles an administrator can put in mapi.profile. */
export function profilesLine(fact: ProfilesFact, locale?: string): DoctorLine {
  const t = translator(locale);
  if (!fact.ok)
    return {
      id: 'mapi.profiles',
      verdict: 'warn',
      title: t('doctor.mapi.profiles.fail.title', { code: fact.code }),
      detail: [fact.message, fact.hint].filter(Boolean).join(' '),
    };
  if (!fact.profiles.length)
    return { id: 'mapi.profiles', verdict: 'warn', title: t('doctor.mapi.profiles.none.title'), detail: t('doctor.mapi.profiles.none.detail') };
  const names = fact.profiles.map((p) => (p.isDefault ? t('doctor.mapi.profiles.default', { name: p.name }) : p.name)).join(', ');
  return { id: 'mapi.profiles', verdict: 'info', title: t('doctor.mapi.profiles.title', { names }), detail: t('doctor.mapi.profiles.detail') };
}

/** Warns when the settings file (which holds passwords in clear text outside Windows) is readable by others. */
export async function storePermissionsLine(file: string, platform: string, locale?: string): Promise<DoctorLine | undefined> {
  const t = translator(locale);
  if (platform === 'win32') return { id: 'store', verdict: 'info', title: t('doctor.store.windows.title', { file }), detail: t('doctor.store.windows.detail') };
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat) return undefined;
  return privateFileLine(
    'store',
    stat.mode,
    (mode) => ({ title: t('doctor.store.open.title', { file, mode }), detail: t('doctor.store.open.detail', { file }) }),
    t('doctor.store.private.title', { file }),
  );
}

/** The line of a file holding secrets: WARN with `open(mode)` when group or others may read it, else ok. */
function privateFileLine(id: string, mode: number, open: (mode: string) => { title: string; detail: string }, privateTitle: string): DoctorLine {
  return mode & 0o077 ? { id, verdict: 'warn', ...open((mode & 0o777).toString(8)) } : { id, verdict: 'ok', title: privateTitle, detail: '' };
}

/**
 * The store's previous version (`users.json.bak`) holds the same secrets: it must be a private
 * regular file too. A symlink there is a FAIL (a writer that followed it would overwrite its
 * target with the store); readable by others a WARN. (This oxymail replaces a symlinked .bak and
 * writes it 0600; older versions did neither.)
 */
export async function storeBackupLine(file: string, platform: string, locale?: string): Promise<DoctorLine | undefined> {
  const t = translator(locale);
  const bak = `${file}.bak`;
  const stat = await fs.lstat(bak).catch(() => undefined);
  if (!stat) return undefined;
  if (stat.isSymbolicLink()) {
    return { id: 'store.bak', verdict: 'fail', title: t('doctor.store.bak.symlink.title', { bak }), detail: t('doctor.store.bak.symlink.detail', { bak }) };
  }
  if (!stat.isFile()) {
    return { id: 'store.bak', verdict: 'fail', title: t('doctor.store.bak.notFile.title', { bak }), detail: t('doctor.store.bak.notFile.detail', { bak }) };
  }
  if (platform === 'win32') return undefined;
  return privateFileLine(
    'store.bak',
    stat.mode,
    (mode) => ({ title: t('doctor.store.bak.open.title', { bak, mode }), detail: t('doctor.store.bak.open.detail', { bak }) }),
    t('doctor.store.bak.private.title', { bak }),
  );
}

/** Examines this machine (and the user's settings, when given) and returns the verdicts and a recommendation. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const locale = options.locale;
  const probe = options.probe ?? systemProbe(locale);
  let settings: UserMailSettings | undefined;
  let settingsProblems: string[] | undefined;
  const again = <E>(e: E): E => (locale === undefined ? e : localizeError(e, locale));
  if (options.settingsError) {
    const e = again(options.settingsError);
    settingsProblems = e.problems?.length ? e.problems.map((p) => `${p.path}: ${p.message}`) : [e.message];
  } else if (options.settings !== undefined) {
    try {
      settings = resolveSettings(options.settings).settings;
    } catch (err) {
      if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw again(err);
      again(err);
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
        locale,
      })
    : undefined;
  const facts = await gatherFacts(probe, {
    oauth,
    settings,
    rawSettings: options.settings as SettingsInput | undefined,
    managed: options.managed,
    unreadableSecrets: unreadable.map((u) => u.path),
    locale,
  });
  const report = judge({
    facts,
    settings: settings && maskSecrets(settings),
    settingsProblems,
    unreadableSecrets: unreadable.map(({ path, error }) => ({ path, code: error.code, message: again(error).message, hint: error.hint })),
    locale,
  });
  if (oauth) {
    const line = oauthLine(oauth, facts.smtp?.login, locale);
    const after = report.lines.map((l) => l.id.startsWith('smtp.')).lastIndexOf(true);
    report.lines.splice(after < 0 ? report.lines.length : after + 1, 0, line);
    if (line.verdict === 'fail') report.failed = true;
  }
  if (probe.mapiProfiles && facts.mapi.available && facts.mapi.client) {
    const fact = await probe.mapiProfiles();
    report.lines.push(profilesLine(fact, locale));
  }
  const store = options.storePath ? await storePermissionsLine(options.storePath, probe.platform, locale) : undefined;
  if (store) report.lines.push(store);
  const backup = options.storePath ? await storeBackupLine(options.storePath, probe.platform, locale) : undefined;
  if (backup) report.lines.push(backup);
  return report;
}

const TAGS: Record<Verdict, { text: string; color: string }> = {
  ok: { text: 'ok  ', color: '32' },
  warn: { text: 'WARN', color: '33' },
  fail: { text: 'FAIL', color: '31' },
  info: { text: 'info', color: '36' },
};

/** The report as lines for a terminal: a verdict per line, its detail indented, the recommendation last. */
export function formatDoctorReport(report: DoctorReport, options: { color: boolean; locale?: string }): string {
  const t = translator(options.locale);
  const choices: Record<RecommendationChoice, string> = {
    smtp: 'SMTP',
    mapi: 'MAPI',
    'mapi-or-smtp': t('doctor.report.choice.mapiOrSmtp'),
    managed: t('doctor.report.choice.managed'),
  };
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = [];
  for (const line of report.lines) {
    const tag = TAGS[line.verdict];
    out.push(`${paint(tag.color, tag.text)}  ${line.title}`);
    if (line.detail) out.push(`      ${paint('2', line.detail)}`);
  }
  out.push('');
  out.push(`${paint('1', t('doctor.report.recommendation', { choice: choices[report.recommendation.choice] }))}`);
  out.push(`  ${report.recommendation.words}`);
  return out.join('\n') + '\n';
}
