/**
 * The doctor's judgement: from the facts (and the user's settings, secrets masked) to one line per
 * check with a verdict, and a recommendation. Pure: no I/O, the same answer on every OS, so each
 * rule is tested from fixtures.
 */
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
}

type Session = { kind: 'rds' | 'citrix'; label: string } | { kind: 'local' | 'unknown' | 'not-windows'; label: string };

/** RDS from SESSIONNAME RDP-..., Citrix from ICA-... or Citrix variables. */
export function classifySession(facts: DoctorFacts): Session {
  const { sessionName, citrixVariables } = facts.session;
  if (sessionName && /^RDP-/i.test(sessionName)) return { kind: 'rds', label: `Remote Desktop session (SESSIONNAME=${sessionName})` };
  if (sessionName && /^ICA-/i.test(sessionName)) return { kind: 'citrix', label: `Citrix session (SESSIONNAME=${sessionName})` };
  if (citrixVariables.length) return { kind: 'citrix', label: `Citrix session (${citrixVariables.join(', ')})` };
  if (facts.platform !== 'win32') return { kind: 'not-windows', label: `Not Windows (${facts.platform})` };
  if (sessionName && /^console$/i.test(sessionName)) return { kind: 'local', label: 'Local session (SESSIONNAME=Console)' };
  return { kind: 'unknown', label: sessionName ? `Session ${sessionName}` : 'No SESSIONNAME' };
}

const PROCESS_BITS: Record<string, string> = { ia32: '32-bit', x64: '64-bit', arm64: '64-bit ARM' };

function sessionLines(facts: DoctorFacts, session: Session): DoctorLine[] {
  const client = facts.session.clientName ? ` The user's PC is ${facts.session.clientName}.` : '';
  switch (session.kind) {
    case 'rds':
    case 'citrix':
      return [
        {
          id: 'session',
          verdict: 'warn',
          title: session.label,
          detail: `The application runs on a server; the user's mail client is on their own PC, not on this server.${client} Use SMTP (MAPI here would reach the server's mail client, if any).`,
        },
      ];
    case 'local':
      return [{ id: 'session', verdict: 'ok', title: session.label, detail: 'A single PC or a network: MAPI or SMTP.' }];
    case 'not-windows':
      return [{ id: 'session', verdict: 'info', title: session.label, detail: 'Remote Desktop and Citrix checks apply to Windows.' }];
    default:
      return [
        {
          id: 'session',
          verdict: 'info',
          title: session.label,
          detail: 'Not a recognised interactive session (a service, a scheduled task, SSH?): cannot tell local from remote.',
        },
      ];
  }
}

/** The new Outlook (olk.exe) registers as a mail client but has no MAPI. */
export function isNewOutlook(client: MailClientFacts): boolean {
  const texts = [client.name, client.openCommand ?? '', ...client.dlls.map((d) => d.path)];
  return /\bolk\.exe\b/i.test(texts.join('\n')) || /outlook\s*\(new\)|new\s+outlook|^newoutlook$/i.test(client.name);
}

function dllLine(d: DllFact, client: string, arch: string, problem: Verdict): DoctorLine {
  const id = `mapi.${d.value.toLowerCase()}`;
  if (!d.absolute) {
    return { id, verdict: 'info', title: `${d.value}: ${d.path}`, detail: 'A bare file name, found by Windows in its own folders: not checked.' };
  }
  if (d.exists === false) {
    return {
      id,
      verdict: problem,
      title: `${d.value} ${d.path} does not exist`,
      detail: `${client} is registered but its MAPI DLL is gone (uninstalled or moved): repair or reinstall ${client}, or make another mail program the default.`,
    };
  }
  if (d.readError || !d.pe) return { id, verdict: 'warn', title: `${d.value} ${d.path} cannot be read`, detail: d.readError ?? 'unknown error' };
  if (!d.pe.ok) return { id, verdict: problem, title: `${d.value} ${d.path} is not a usable DLL`, detail: d.pe.reason };
  const want = Object.entries(PE_MACHINES).find(([, a]) => a === arch)?.[0];
  const procBits = PROCESS_BITS[arch] ?? arch;
  if (want === undefined || Number(want) !== d.pe.machine) {
    const dllArch = d.pe.arch;
    const fix =
      dllArch === 'ia32'
        ? `Run a 32-bit (ia32) Node/Electron to match a 32-bit Office, or install 64-bit Office, or use SMTP.`
        : dllArch === 'x64' || dllArch === 'arm64'
          ? `Run a ${PROCESS_BITS[dllArch]} (${dllArch}) Node/Electron to match ${client}, or use SMTP.`
          : 'Use SMTP.';
    return {
      id,
      verdict: problem,
      title: `${client}'s ${d.value} is ${describeMachine(d.pe.machine)}, this process is ${procBits} (${arch})`,
      detail: `A ${procBits} process cannot load a DLL of another bitness: MAPI fails (MAPI_UNAVAILABLE with Win32 error 193, or MAPI_FAILURE / 0x80004005). ${fix}`,
    };
  }
  return { id, verdict: 'ok', title: `${d.value}: ${d.path}`, detail: `${describeMachine(d.pe.machine)}, the same as this process.` };
}

function mapiLines(facts: DoctorFacts, mapiSelected: boolean): DoctorLine[] {
  const problem: Verdict = mapiSelected ? 'fail' : 'warn';
  const m = facts.mapi;
  if (!m.available) {
    return [{ id: 'mapi.platform', verdict: mapiSelected ? 'fail' : 'info', title: 'MAPI unavailable', detail: `${m.reason}. Use SMTP on this machine.` }];
  }
  if (m.registryError) {
    return [
      {
        id: 'mapi.client',
        verdict: problem,
        title: 'The registry could not be read',
        detail: `${m.registryError}. Cannot tell which mail client MAPI would use.`,
      },
    ];
  }
  if (!m.client) {
    return [
      {
        id: 'mapi.client',
        verdict: problem,
        title: 'No default mail client',
        detail:
          'Neither HKCU nor HKLM Software\\Clients\\Mail names one, so MAPI has no mail client to talk to (MAPI_NOT_SUPPORTED or MAPI_FAILURE). Install classic Outlook or Thunderbird and make it the default mail program, or use SMTP.',
      },
    ];
  }
  const c = m.client;
  const lines: DoctorLine[] = [
    { id: 'mapi.client', verdict: 'ok', title: `Default mail client: ${c.name} (${c.hive})`, detail: `Read from ${c.hive}\\Software\\Clients\\Mail.` },
  ];
  if (isNewOutlook(c)) {
    lines.push({
      id: 'mapi.new-outlook',
      verdict: problem,
      title: `${c.name} is the new Outlook, which has no MAPI`,
      detail: 'Switch back to classic Outlook (turn "New Outlook" off) and make it the default mail program, or use SMTP.',
    });
  }
  if (c.dlls.length === 0) {
    lines.push({
      id: 'mapi.dllpath',
      verdict: problem,
      title: `${c.name} has no DLLPath or DLLPathEx`,
      detail: `${c.keyHive ? `${c.keyHive}\\Software\\Clients\\Mail\\${c.name}` : `No key ${c.name} under Software\\Clients\\Mail`}: it registers no MAPI DLL, so MAPI calls fail. Reinstall it, make a MAPI mail program the default, or use SMTP.`,
    });
  }
  for (const d of c.dlls) lines.push(dllLine(d, c.name, facts.arch, problem));
  return lines;
}

const MICROSOFT_365 = /(^|\.)office365\.com$|^smtp-mail\.outlook\.com$/i;

function tlsPortLine(s: SmtpFacts): DoctorLine {
  const where = `port ${s.port}, security '${s.security}'`;
  if (s.security === 'tls' && s.port !== 465) {
    return {
      id: 'smtp.tls-port',
      verdict: 'warn',
      title: `Implicit TLS on port ${s.port}`,
      detail: `Most servers speak STARTTLS on ${s.port} ('wrong version number' if so): use security 'auto' or 'starttls', or port 465 with 'tls'.`,
    };
  }
  if (s.security === 'none') {
    const remote = !isLoopback(s.host);
    return {
      id: 'smtp.tls-port',
      verdict: remote ? 'warn' : 'info',
      title: `No encryption (${where})`,
      detail: remote
        ? "Mail (and the password, if any) travel in clear text: use 'auto' unless the network is trusted."
        : 'A loopback server: nothing leaves the machine.',
    };
  }
  const mode =
    s.port === 465 ? 'implicit TLS' : s.security === 'starttls' || (s.auth !== 'none' && !isLoopback(s.host)) ? 'STARTTLS, required' : 'STARTTLS when offered';
  const note = s.port === 25 ? ' Port 25 is often blocked for client machines by providers: 587 is the submission port.' : '';
  return {
    id: 'smtp.tls-port',
    verdict: 'ok',
    title: `TLS mode matches the port (${where}: ${mode})`,
    detail: `465 speaks TLS from the first byte; 25 and 587 start plain and upgrade with STARTTLS.${note}`,
  };
}

function smtpLines(s: SmtpFacts, settings: UserMailSettings | undefined): DoctorLine[] {
  const lines: DoctorLine[] = [];
  const at = `${s.host}:${s.port}`;
  if (!s.dns.ok) {
    lines.push({
      id: 'smtp.dns',
      verdict: 'fail',
      title: `${s.host} does not resolve (${s.dns.code})`,
      detail: "Check smtp.host (a typo, or a name only the company network's DNS knows). Later SMTP checks skipped.",
    });
    return lines;
  }
  lines.push({ id: 'smtp.dns', verdict: 'ok', title: `${s.host} resolves`, detail: s.dns.addresses.join(', ') });
  if (s.tcp && !s.tcp.ok) {
    const detail =
      s.tcp.code === 'ECONNREFUSED'
        ? `Nothing listens on port ${s.port} there: check smtp.port (587 STARTTLS, 465 TLS, 25).`
        : s.tcp.code === 'ETIMEDOUT'
          ? `No answer: a firewall or the provider may block port ${s.port}${s.port === 25 ? ' (many block 25: try 587)' : ''}.`
          : `Check smtp.host and smtp.port: ${s.tcp.message}.`;
    lines.push({ id: 'smtp.tcp', verdict: 'fail', title: `Cannot connect to ${at} (${s.tcp.code})`, detail: `${detail} Later SMTP checks skipped.` });
    return lines;
  }
  if (s.tcp) lines.push({ id: 'smtp.tcp', verdict: 'ok', title: `${at} accepts connections`, detail: `Connected to ${s.tcp.address}.` });
  lines.push(tlsPortLine(s));
  const h = s.handshake;
  if (!h) return lines;
  if (!h.ok) {
    lines.push({ id: 'smtp.handshake', verdict: 'fail', title: `SMTP handshake failed (${h.code})`, detail: [h.message, h.hint].filter(Boolean).join(' ') });
    return lines;
  }
  const tlsTitle = h.tls === 'none' ? 'no TLS' : `${h.tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'}${h.tlsProtocol ? `, ${h.tlsProtocol}` : ''}`;
  const clear = h.tls === 'none' && !isLoopback(s.host);
  lines.push({
    id: 'smtp.handshake',
    verdict: clear ? 'warn' : 'ok',
    title: `SMTP handshake: ${tlsTitle}`,
    detail: clear
      ? "The connection is not encrypted: the server offers no STARTTLS, or security is 'none'."
      : `Extensions: ${h.extensions.join(', ') || '(none: HELO only)'}.`,
  });
  const authLine = h.extensions.find((e) => /^AUTH\b/i.test(e));
  const mechanisms = authLine ? authLine.replace(/^AUTH[\s=]*/i, '').trim() : '';
  if (s.auth !== 'none') {
    lines.push(
      authLine
        ? {
            id: 'smtp.auth-offered',
            verdict: 'ok',
            title: `AUTH offered${mechanisms ? `: ${mechanisms}` : ''}`,
            detail: 'The server accepts a login on this connection.',
          }
        : {
            id: 'smtp.auth-offered',
            verdict: 'fail',
            title: 'AUTH not offered',
            detail: `Credentials are set but ${at} offers no login on this connection (some servers offer AUTH only after STARTTLS, or only on 587): sends will fail with SMTP_AUTH.`,
          },
    );
  } else {
    lines.push(
      authLine
        ? {
            id: 'smtp.auth-offered',
            verdict: 'info',
            title: `AUTH offered${mechanisms ? `: ${mechanisms}` : ''}, no credentials set`,
            detail: 'Without a login the server may refuse to relay to outside domains: set smtp.username and smtp.password if so.',
          }
        : { id: 'smtp.auth-offered', verdict: 'info', title: 'No AUTH offered, no credentials set', detail: 'A relay that trusts this network.' },
    );
  }
  const dsn = h.extensions.some((e) => /^DSN\b/i.test(e));
  const wantsDsn = settings?.defaults.deliveryReceipt === true;
  lines.push(
    dsn
      ? {
          id: 'smtp.dsn',
          verdict: 'ok',
          title: 'DSN offered: delivery receipts work',
          detail: 'deliveryReceipt asks the server for a delivery status notification.',
        }
      : {
          id: 'smtp.dsn',
          verdict: wantsDsn ? 'warn' : 'info',
          title: 'DSN not offered: no delivery receipts',
          detail: 'A delivery receipt cannot be requested from this server (oxymail says so with DELIVERY_RECEIPT_UNSUPPORTED); read receipts still work.',
        },
  );
  const l = s.login;
  if (l) {
    // What the handshake negotiated, not the configured mode: the login's connection is set up the same way.
    const over = h.tls === 'none' ? 'The login went over an unencrypted connection.' : `Over ${tlsTitle}.`;
    lines.push(
      l.ok
        ? { id: 'smtp.login', verdict: 'ok', title: `Logged in as ${l.authenticatedAs ?? s.username}`, detail: over }
        : { id: 'smtp.login', verdict: 'fail', title: `Login failed (${l.code})`, detail: [l.message, l.hint].filter(Boolean).join(' ') },
    );
  } else if (s.loginSkipped) {
    lines.push({ id: 'smtp.login', verdict: 'info', title: 'Login not tried', detail: `${s.loginSkipped} (see above).` });
  }
  return lines;
}

function providerLines(s: SmtpFacts): DoctorLine[] {
  if (isGmailHost(s.host)) {
    if (s.auth === 'oauth2') return [{ id: 'smtp.gmail', verdict: 'ok', title: 'Gmail with OAuth2', detail: 'Scope https://mail.google.com/.' }];
    if (s.auth === 'password' && s.appPasswordShape === null) {
      return [
        {
          id: 'smtp.gmail',
          verdict: 'info',
          title: 'Gmail: the password cannot be checked here',
          detail: 'Gmail refuses the account password for SMTP: smtp.password must be an app password (16 letters).',
        },
      ];
    }
    if (s.auth === 'password' && s.appPasswordShape) {
      return [
        {
          id: 'smtp.gmail',
          verdict: 'ok',
          title: 'Gmail: the password has the shape of an app password (16 letters)',
          detail: 'Gmail refuses the account password for SMTP; an app password works while 2-Step Verification stays on.',
        },
      ];
    }
    return [
      {
        id: 'smtp.gmail',
        verdict: 'warn',
        title: 'Gmail needs an app password',
        detail:
          'Gmail refuses the account password for SMTP (535-5.7.8, 534-5.7.9). Turn on 2-Step Verification (Google account > Security), then App passwords > generate one for this PC, and use its 16 letters as smtp.password (spaces are ignored; oxymail settings set USER --password-stdin). Use smtp.gmail.com 465 (tls) or 587 (starttls).',
      },
    ];
  }
  if (MICROSOFT_365.test(s.host)) {
    if (s.auth === 'oauth2')
      return [{ id: 'smtp.microsoft365', verdict: 'ok', title: 'Microsoft 365 with OAuth2', detail: 'Scope https://outlook.office.com/SMTP.Send.' }];
    return [
      {
        id: 'smtp.microsoft365',
        verdict: 'warn',
        title: 'Microsoft 365: password login (basic auth) for SMTP is being switched off',
        detail:
          'From 2026 many tenants have SMTP AUTH with a password disabled (535 5.7.139, 535 5.7.3, later 550 5.7.30). Use OAuth2: smtp.oauth2.provider=microsoft and smtp.oauth2.clientId (the application registered in Entra ID), then oxymail auth login USER (README: "OAuth2 (Microsoft 365, Google)"); or have the administrator enable SMTP AUTH for this mailbox.',
      },
    ];
  }
  return [];
}

function managedLine(facts: DoctorFacts, managedSelected: boolean): DoctorLine {
  const m = facts.managed;
  if (m.configured) {
    const from = m.source === 'options' ? 'given by the application' : 'OXYMAIL_MANAGED_RELAY';
    return {
      id: 'managed',
      verdict: 'ok',
      title: `Managed relay configured: ${m.host}:${m.port} (${from})`,
      detail: `Assigned sender: ${m.assignedAddress}; the user's address goes to Reply-To.`,
    };
  }
  if (m.problem) return { id: 'managed', verdict: managedSelected ? 'fail' : 'warn', title: 'Managed relay misconfigured', detail: `${m.problem}. ${m.hint}` };
  return { id: 'managed', verdict: managedSelected ? 'fail' : 'info', title: 'Managed relay not configured', detail: m.hint };
}

/** Turns facts (and settings) into lines and a recommendation. */
export function judge(input: JudgeInput): DoctorReport {
  const { facts, settings } = input;
  const session = classifySession(facts);
  const remote = session.kind === 'rds' || session.kind === 'citrix';
  const selected = settings ? (settings.customize ? settings.protocol : 'managed') : undefined;
  const lines: DoctorLine[] = [];

  if (input.settingsProblems) {
    lines.push({ id: 'settings', verdict: 'fail', title: "The user's settings are invalid", detail: input.settingsProblems.join('; ') });
  } else if (settings) {
    lines.push({
      id: 'settings',
      verdict: 'info',
      title: `User settings: ${selected === 'managed' ? 'managed sending' : selected?.toUpperCase()}`,
      detail: settings.email ? `Address ${settings.email}.` : 'No e-mail address set.',
    });
  }
  for (const u of input.unreadableSecrets ?? []) {
    lines.push({
      id: 'settings.secret',
      verdict: 'fail',
      title: `${u.path} cannot be read on this machine (${u.code})`,
      detail: [u.message, u.hint].filter(Boolean).join(' '),
    });
  }
  lines.push(...sessionLines(facts, session));
  if (remote && selected === 'mapi') {
    lines.push({
      id: 'settings.protocol',
      verdict: 'fail',
      title: `The user's settings use MAPI in a ${session.kind === 'rds' ? 'Remote Desktop' : 'Citrix'} session`,
      detail: "Switch the user to SMTP: the mail client that MAPI needs is on the user's PC.",
    });
  }
  const mapi = mapiLines(facts, selected === 'mapi');
  lines.push(...mapi);
  if (facts.smtp) lines.push(...smtpLines(facts.smtp, settings), ...providerLines(facts.smtp));
  lines.push(managedLine(facts, selected === 'managed'));

  const mapiUsable = facts.mapi.available && !!facts.mapi.client && !mapi.some((l) => l.verdict === 'fail' || l.verdict === 'warn');
  const smtpBroken = lines.some((l) => l.id.startsWith('smtp.') && l.verdict === 'fail');
  const smtpNote = smtpBroken ? ' Fix the SMTP failures above first.' : '';
  let choice: RecommendationChoice;
  let words: string;
  if (remote) {
    choice = 'smtp';
    words = `Use SMTP: in a ${session.kind === 'rds' ? 'Remote Desktop' : 'Citrix'} session the application runs on a server, and the user's mail client is on their own PC, not on the server.${smtpNote}`;
  } else if (mapiUsable) {
    choice = 'mapi-or-smtp';
    const client = facts.mapi.available && facts.mapi.client ? facts.mapi.client.name : 'the mail client';
    words = `MAPI or SMTP: MAPI goes through ${client} (sent mail in its Sent Items, the compose window on request); SMTP adds HTML, importance and delivery receipts.${smtpNote}`;
  } else {
    choice = 'smtp';
    const why = facts.mapi.available
      ? `MAPI cannot work here (${mapi.find((l) => l.verdict !== 'ok' && l.verdict !== 'info')?.title ?? 'no usable mail client'})`
      : facts.mapi.reason;
    words = `Use SMTP: ${why}.${smtpNote}`;
  }
  if (selected === 'managed' && facts.managed.configured) {
    words = `Keep managed sending: the suite's relay is configured. If the user customises their settings: ${words}`;
    choice = 'managed';
  }
  return { lines, recommendation: { choice, words }, failed: lines.some((l) => l.verdict === 'fail'), facts };
}
