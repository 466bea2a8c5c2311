/**
 * The doctor's judgement: from the facts (and the user's settings, secrets masked) to one line per
 * check with a verdict, and a recommendation. Pure: no I/O, the same answer on every OS, so each
 * rule is tested from fixtures.
 */
import { translator } from '../i18n';
import { isGmailHost, isLoopback, UserMailSettings } from '../settings';
import type { DllFact, DoctorFacts, MailClientFacts, SmtpFacts } from './facts';
import { describeMachine, PE_MACHINES } from './pe';

/** ok: works; warn: works with a caveat or may fail; fail: will not work; info: a fact. */
export type Verdict = 'ok' | 'warn' | 'fail' | 'info';

/** One checked item. `id` is stable (for --json and tests), `title` one line, `detail` what to do. */
export interface DoctorLine {
  id: string;
  verdict: Verdict;
  title: string;
  detail: string;
}

/** What to use on this machine. */
export type RecommendationChoice = 'smtp' | 'mapi' | 'mapi-or-smtp' | 'managed';

/** The doctor's answer. */
export interface DoctorReport {
  lines: DoctorLine[];
  recommendation: { choice: RecommendationChoice; words: string };
  /** True when a line says 'fail'. */
  failed: boolean;
  facts: DoctorFacts;
}

/** Input of judge(): the facts, the validated user settings (secrets masked) or why they are invalid. */
export interface JudgeInput {
  facts: DoctorFacts;
  settings?: UserMailSettings;
  /** The problems that made the user's settings invalid, one per line. */
  settingsProblems?: string[];
  /** Stored secrets that cannot be opened on this machine (SECRET_UNREADABLE): one FAIL line each. */
  unreadableSecrets?: { path: string; code: string; message: string; hint?: string }[];
  /** The language of titles, details and the recommendation (default: the process default locale). */
  locale?: string;
}

type T = ReturnType<typeof translator>;

type Session = { kind: 'rds' | 'citrix'; label: string } | { kind: 'local' | 'unknown' | 'not-windows'; label: string };

/** RDS from SESSIONNAME RDP-..., Citrix from ICA-... or Citrix variables. */
export function classifySession(facts: DoctorFacts, locale?: string): Session {
  const t = translator(locale);
  const { sessionName, citrixVariables } = facts.session;
  if (sessionName && /^RDP-/i.test(sessionName)) return { kind: 'rds', label: t('doctor.session.rds', { name: sessionName }) };
  if (sessionName && /^ICA-/i.test(sessionName)) return { kind: 'citrix', label: t('doctor.session.citrix', { name: sessionName }) };
  if (citrixVariables.length) return { kind: 'citrix', label: t('doctor.session.citrixVariables', { variables: citrixVariables.join(', ') }) };
  if (facts.platform !== 'win32') return { kind: 'not-windows', label: t('doctor.session.notWindows', { platform: facts.platform }) };
  if (sessionName && /^console$/i.test(sessionName)) return { kind: 'local', label: t('doctor.session.console') };
  return { kind: 'unknown', label: sessionName ? t('doctor.session.named', { name: sessionName }) : t('doctor.session.unnamed') };
}

function processBits(t: T, arch: string): string {
  return arch === 'ia32' ? t('doctor.bits.ia32') : arch === 'x64' ? t('doctor.bits.x64') : arch === 'arm64' ? t('doctor.bits.arm64') : arch;
}

function sessionLines(t: T, facts: DoctorFacts, session: Session): DoctorLine[] {
  const client = facts.session.clientName ? t('doctor.session.clientPc', { name: facts.session.clientName }) : '';
  switch (session.kind) {
    case 'rds':
    case 'citrix':
      return [
        {
          id: 'session',
          verdict: 'warn',
          title: session.label,
          detail: t('doctor.session.remote.detail', { client }),
        },
      ];
    case 'local':
      return [{ id: 'session', verdict: 'ok', title: session.label, detail: t('doctor.session.local.detail') }];
    case 'not-windows':
      return [{ id: 'session', verdict: 'info', title: session.label, detail: t('doctor.session.notWindows.detail') }];
    default:
      return [
        {
          id: 'session',
          verdict: 'info',
          title: session.label,
          detail: t('doctor.session.unknown.detail'),
        },
      ];
  }
}

/** The new Outlook (olk.exe) registers as a mail client but has no MAPI. */
export function isNewOutlook(client: MailClientFacts): boolean {
  const texts = [client.name, client.openCommand ?? '', ...client.dlls.map((d) => d.path)];
  return /\bolk\.exe\b/i.test(texts.join('\n')) || /outlook\s*\(new\)|new\s+outlook|^newoutlook$/i.test(client.name);
}

function dllLine(t: T, d: DllFact, client: string, arch: string, problem: Verdict): DoctorLine {
  const id = `mapi.${d.value.toLowerCase()}`;
  if (!d.absolute) {
    return { id, verdict: 'info', title: t('doctor.dll.path', { value: d.value, path: d.path }), detail: t('doctor.dll.bare.detail') };
  }
  if (d.exists === false) {
    return {
      id,
      verdict: problem,
      title: t('doctor.dll.missing.title', { value: d.value, path: d.path }),
      detail: t('doctor.dll.missing.detail', { client }),
    };
  }
  if (d.readError || !d.pe)
    return {
      id,
      verdict: 'warn',
      title: t('doctor.dll.unreadable.title', { value: d.value, path: d.path }),
      detail: d.readError ?? t('doctor.dll.unknownError'),
    };
  if (!d.pe.ok) return { id, verdict: problem, title: t('doctor.dll.notDll.title', { value: d.value, path: d.path }), detail: d.pe.reason };
  const want = Object.entries(PE_MACHINES).find(([, a]) => a === arch)?.[0];
  const procBits = processBits(t, arch);
  if (want === undefined || Number(want) !== d.pe.machine) {
    const dllArch = d.pe.arch;
    const fix =
      dllArch === 'ia32'
        ? t('doctor.dll.fix.ia32')
        : dllArch === 'x64' || dllArch === 'arm64'
          ? t('doctor.dll.fix.bits', { bits: processBits(t, dllArch), arch: dllArch, client })
          : t('doctor.dll.fix.smtp');
    return {
      id,
      verdict: problem,
      title: t('doctor.dll.bitness.title', { client, value: d.value, machine: describeMachine(d.pe.machine, t), bits: procBits, arch }),
      detail: t('doctor.dll.bitness.detail', { bits: procBits, fix }),
    };
  }
  return {
    id,
    verdict: 'ok',
    title: t('doctor.dll.path', { value: d.value, path: d.path }),
    detail: t('doctor.dll.ok.detail', { machine: describeMachine(d.pe.machine, t) }),
  };
}

function mapiLines(t: T, facts: DoctorFacts, mapiSelected: boolean): DoctorLine[] {
  const problem: Verdict = mapiSelected ? 'fail' : 'warn';
  const m = facts.mapi;
  if (!m.available) {
    return [
      {
        id: 'mapi.platform',
        verdict: mapiSelected ? 'fail' : 'info',
        title: t('doctor.mapi.unavailable.title'),
        detail: t('doctor.mapi.unavailable.detail', { reason: m.reason }),
      },
    ];
  }
  if (m.registryError) {
    return [
      {
        id: 'mapi.client',
        verdict: problem,
        title: t('doctor.mapi.registry.title'),
        detail: t('doctor.mapi.registry.detail', { error: m.registryError }),
      },
    ];
  }
  if (!m.client) {
    return [
      {
        id: 'mapi.client',
        verdict: problem,
        title: t('doctor.mapi.noClient.title'),
        detail: t('doctor.mapi.noClient.detail'),
      },
    ];
  }
  const c = m.client;
  const lines: DoctorLine[] = [
    {
      id: 'mapi.client',
      verdict: 'ok',
      title: t('doctor.mapi.client.title', { name: c.name, hive: c.hive }),
      detail: t('doctor.mapi.client.detail', { hive: c.hive }),
    },
  ];
  if (isNewOutlook(c)) {
    lines.push({
      id: 'mapi.new-outlook',
      verdict: problem,
      title: t('doctor.mapi.newOutlook.title', { name: c.name }),
      detail: t('doctor.mapi.newOutlook.detail'),
    });
  }
  if (c.dlls.length === 0) {
    lines.push({
      id: 'mapi.dllpath',
      verdict: problem,
      title: t('doctor.mapi.noDll.title', { name: c.name }),
      detail: t('doctor.mapi.noDll.detail', {
        key: c.keyHive ? `${c.keyHive}\\Software\\Clients\\Mail\\${c.name}` : t('doctor.mapi.noDll.noKey', { name: c.name }),
      }),
    });
  }
  for (const d of c.dlls) lines.push(dllLine(t, d, c.name, facts.arch, problem));
  return lines;
}

const MICROSOFT_365 = /(^|\.)office365\.com$|^smtp-mail\.outlook\.com$/i;

function tlsPortLine(t: T, s: SmtpFacts): DoctorLine {
  const where = t('doctor.tls.where', { port: s.port, security: s.security });
  if (s.security === 'tls' && s.port !== 465) {
    return {
      id: 'smtp.tls-port',
      verdict: 'warn',
      title: t('doctor.tls.implicit.title', { port: s.port }),
      detail: t('doctor.tls.implicit.detail', { port: s.port }),
    };
  }
  if (s.security === 'none') {
    const remote = !isLoopback(s.host);
    return {
      id: 'smtp.tls-port',
      verdict: remote ? 'warn' : 'info',
      title: t('doctor.tls.none.title', { where }),
      detail: remote ? t('doctor.tls.none.remote') : t('doctor.tls.none.loopback'),
    };
  }
  const mode =
    s.port === 465
      ? t('doctor.tls.mode.implicit')
      : s.security === 'starttls' || (s.auth !== 'none' && !isLoopback(s.host))
        ? t('doctor.tls.mode.required')
        : t('doctor.tls.mode.whenOffered');
  const note = s.port === 25 ? t('doctor.tls.port25') : '';
  return {
    id: 'smtp.tls-port',
    verdict: 'ok',
    title: t('doctor.tls.ok.title', { where, mode }),
    detail: t('doctor.tls.ok.detail', { note }),
  };
}

function smtpLines(t: T, s: SmtpFacts, settings: UserMailSettings | undefined): DoctorLine[] {
  const lines: DoctorLine[] = [];
  const at = `${s.host}:${s.port}`;
  if (!s.dns.ok) {
    lines.push({
      id: 'smtp.dns',
      verdict: 'fail',
      title: t('doctor.dns.fail.title', { host: s.host, code: s.dns.code }),
      detail: t('doctor.dns.fail.detail'),
    });
    return lines;
  }
  lines.push({ id: 'smtp.dns', verdict: 'ok', title: t('doctor.dns.ok.title', { host: s.host }), detail: s.dns.addresses.join(', ') });
  if (s.tcp && !s.tcp.ok) {
    const detail =
      s.tcp.code === 'ECONNREFUSED'
        ? t('doctor.tcp.refused', { port: s.port })
        : s.tcp.code === 'ETIMEDOUT'
          ? t('doctor.tcp.timeout', { port: s.port, note: s.port === 25 ? t('doctor.tcp.timeout.port25') : '' })
          : t('doctor.tcp.other', { message: s.tcp.message });
    lines.push({
      id: 'smtp.tcp',
      verdict: 'fail',
      title: t('doctor.tcp.fail.title', { at, code: s.tcp.code }),
      detail: t('doctor.tcp.fail.detail', { detail }),
    });
    return lines;
  }
  if (s.tcp)
    lines.push({ id: 'smtp.tcp', verdict: 'ok', title: t('doctor.tcp.ok.title', { at }), detail: t('doctor.tcp.ok.detail', { address: s.tcp.address }) });
  lines.push(tlsPortLine(t, s));
  const h = s.handshake;
  if (!h) return lines;
  if (!h.ok) {
    lines.push({
      id: 'smtp.handshake',
      verdict: 'fail',
      title: t('doctor.handshake.fail.title', { code: h.code }),
      detail: [h.message, h.hint].filter(Boolean).join(' '),
    });
    return lines;
  }
  const tlsTitle =
    h.tls === 'none'
      ? t('doctor.handshake.noTls')
      : `${h.tls === 'implicit' ? t('doctor.tls.mode.implicit') : 'STARTTLS'}${h.tlsProtocol ? `, ${h.tlsProtocol}` : ''}`;
  const clear = h.tls === 'none' && !isLoopback(s.host);
  lines.push({
    id: 'smtp.handshake',
    verdict: clear ? 'warn' : 'ok',
    title: t('doctor.handshake.ok.title', { tls: tlsTitle }),
    detail: clear
      ? t('doctor.handshake.clear.detail')
      : t('doctor.handshake.ok.detail', { extensions: h.extensions.join(', ') || t('doctor.handshake.heloOnly') }),
  });
  const authLine = h.extensions.find((e) => /^AUTH\b/i.test(e));
  const mechanisms = authLine ? authLine.replace(/^AUTH[\s=]*/i, '').trim() : '';
  if (s.auth !== 'none') {
    lines.push(
      authLine
        ? {
            id: 'smtp.auth-offered',
            verdict: 'ok',
            title: mechanisms ? t('doctor.auth.offered.mechanisms', { mechanisms }) : t('doctor.auth.offered'),
            detail: t('doctor.auth.offered.detail'),
          }
        : {
            id: 'smtp.auth-offered',
            verdict: 'fail',
            title: t('doctor.auth.notOffered.title'),
            detail: t('doctor.auth.notOffered.detail', { at }),
          },
    );
  } else {
    lines.push(
      authLine
        ? {
            id: 'smtp.auth-offered',
            verdict: 'info',
            title: mechanisms ? t('doctor.auth.offeredUnused.mechanisms', { mechanisms }) : t('doctor.auth.offeredUnused'),
            detail: t('doctor.auth.offeredUnused.detail'),
          }
        : { id: 'smtp.auth-offered', verdict: 'info', title: t('doctor.auth.none.title'), detail: t('doctor.auth.none.detail') },
    );
  }
  const dsn = h.extensions.some((e) => /^DSN\b/i.test(e));
  const wantsDsn = settings?.defaults.deliveryReceipt === true;
  lines.push(
    dsn
      ? {
          id: 'smtp.dsn',
          verdict: 'ok',
          title: t('doctor.dsn.ok.title'),
          detail: t('doctor.dsn.ok.detail'),
        }
      : {
          id: 'smtp.dsn',
          verdict: wantsDsn ? 'warn' : 'info',
          title: t('doctor.dsn.none.title'),
          detail: t('doctor.dsn.none.detail'),
        },
  );
  const l = s.login;
  if (l) {
    // What the handshake negotiated, not the configured mode: the login's connection is set up the same way.
    const over = h.tls === 'none' ? t('doctor.login.clear') : t('doctor.login.over', { tls: tlsTitle });
    lines.push(
      l.ok
        ? { id: 'smtp.login', verdict: 'ok', title: t('doctor.login.ok.title', { user: l.authenticatedAs ?? s.username }), detail: over }
        : { id: 'smtp.login', verdict: 'fail', title: t('doctor.login.fail.title', { code: l.code }), detail: [l.message, l.hint].filter(Boolean).join(' ') },
    );
  } else if (s.loginSkipped) {
    lines.push({
      id: 'smtp.login',
      verdict: 'info',
      title: t('doctor.login.skipped.title'),
      detail: t('doctor.login.skipped.detail', { why: s.loginSkipped }),
    });
  }
  return lines;
}

function providerLines(t: T, s: SmtpFacts): DoctorLine[] {
  if (isGmailHost(s.host)) {
    if (s.auth === 'oauth2') return [{ id: 'smtp.gmail', verdict: 'ok', title: t('doctor.gmail.oauth2.title'), detail: t('doctor.gmail.oauth2.detail') }];
    if (s.auth === 'password' && s.appPasswordShape === null) {
      return [
        {
          id: 'smtp.gmail',
          verdict: 'info',
          title: t('doctor.gmail.unchecked.title'),
          detail: t('doctor.gmail.unchecked.detail'),
        },
      ];
    }
    if (s.auth === 'password' && s.appPasswordShape) {
      return [
        {
          id: 'smtp.gmail',
          verdict: 'ok',
          title: t('doctor.gmail.shape.title'),
          detail: t('doctor.gmail.shape.detail'),
        },
      ];
    }
    return [
      {
        id: 'smtp.gmail',
        verdict: 'warn',
        title: t('doctor.gmail.needed.title'),
        detail: t('doctor.gmail.needed.detail'),
      },
    ];
  }
  if (MICROSOFT_365.test(s.host)) {
    if (s.auth === 'oauth2')
      return [{ id: 'smtp.microsoft365', verdict: 'ok', title: t('doctor.microsoft365.oauth2.title'), detail: t('doctor.microsoft365.oauth2.detail') }];
    return [
      {
        id: 'smtp.microsoft365',
        verdict: 'warn',
        title: t('doctor.microsoft365.basic.title'),
        detail: t('doctor.microsoft365.basic.detail'),
      },
    ];
  }
  return [];
}

function managedLine(t: T, facts: DoctorFacts, managedSelected: boolean): DoctorLine {
  const m = facts.managed;
  if (m.configured) {
    const from = m.source === 'options' ? t('doctor.managed.fromApplication') : 'OXYMAIL_MANAGED_RELAY';
    return {
      id: 'managed',
      verdict: 'ok',
      title: t('doctor.managed.ok.title', { host: m.host, port: m.port, from }),
      detail: t('doctor.managed.ok.detail', { address: m.assignedAddress }),
    };
  }
  if (m.problem)
    return {
      id: 'managed',
      verdict: managedSelected ? 'fail' : 'warn',
      title: t('doctor.managed.misconfigured.title'),
      detail: t('doctor.managed.misconfigured.detail', { problem: m.problem, hint: m.hint }),
    };
  return { id: 'managed', verdict: managedSelected ? 'fail' : 'info', title: t('doctor.managed.none.title'), detail: m.hint };
}

/** Turns facts (and settings) into lines and a recommendation. */
export function judge(input: JudgeInput): DoctorReport {
  const { facts, settings } = input;
  const t = translator(input.locale);
  const session = classifySession(facts, input.locale);
  const remote = session.kind === 'rds' || session.kind === 'citrix';
  const selected = settings ? (settings.customize ? settings.protocol : 'managed') : undefined;
  const lines: DoctorLine[] = [];

  if (input.settingsProblems) {
    lines.push({ id: 'settings', verdict: 'fail', title: t('doctor.settings.invalid.title'), detail: input.settingsProblems.join('; ') });
  } else if (settings) {
    lines.push({
      id: 'settings',
      verdict: 'info',
      title: t('doctor.settings.title', { protocol: selected === 'managed' ? t('doctor.settings.managed') : selected?.toUpperCase() }),
      detail: settings.email ? t('doctor.settings.address', { email: settings.email }) : t('doctor.settings.noAddress'),
    });
  }
  for (const u of input.unreadableSecrets ?? []) {
    lines.push({
      id: 'settings.secret',
      verdict: 'fail',
      title: t('doctor.secret.title', { path: u.path, code: u.code }),
      detail: [u.message, u.hint].filter(Boolean).join(' '),
    });
  }
  lines.push(...sessionLines(t, facts, session));
  if (remote && selected === 'mapi') {
    lines.push({
      id: 'settings.protocol',
      verdict: 'fail',
      title: session.kind === 'rds' ? t('doctor.protocol.rds.title') : t('doctor.protocol.citrix.title'),
      detail: t('doctor.protocol.remote.detail'),
    });
  }
  const mapi = mapiLines(t, facts, selected === 'mapi');
  lines.push(...mapi);
  if (facts.smtp) lines.push(...smtpLines(t, facts.smtp, settings), ...providerLines(t, facts.smtp));
  lines.push(managedLine(t, facts, selected === 'managed'));

  const mapiUsable = facts.mapi.available && !!facts.mapi.client && !mapi.some((l) => l.verdict === 'fail' || l.verdict === 'warn');
  const smtpBroken = lines.some((l) => l.id.startsWith('smtp.') && l.verdict === 'fail');
  const smtpNote = smtpBroken ? t('doctor.recommend.fixSmtp') : '';
  let choice: RecommendationChoice;
  let words: string;
  if (remote) {
    choice = 'smtp';
    words = session.kind === 'rds' ? t('doctor.recommend.rds', { note: smtpNote }) : t('doctor.recommend.citrix', { note: smtpNote });
  } else if (mapiUsable) {
    choice = 'mapi-or-smtp';
    const client = facts.mapi.available && facts.mapi.client ? facts.mapi.client.name : t('doctor.recommend.theMailClient');
    words = t('doctor.recommend.either', { client, note: smtpNote });
  } else {
    choice = 'smtp';
    const why = facts.mapi.available
      ? t('doctor.recommend.mapiCannot', { why: mapi.find((l) => l.verdict !== 'ok' && l.verdict !== 'info')?.title ?? t('doctor.recommend.noClient') })
      : facts.mapi.reason;
    words = t('doctor.recommend.smtp', { why, note: smtpNote });
  }
  if (selected === 'managed' && facts.managed.configured) {
    words = t('doctor.recommend.managed', { words });
    choice = 'managed';
  }
  return { lines, recommendation: { choice, words }, failed: lines.some((l) => l.verdict === 'fail'), facts };
}
