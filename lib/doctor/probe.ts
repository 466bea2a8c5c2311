/**
 * The doctor's probe: the only part of `oxymail doctor` that touches the machine. It gathers raw
 * facts (environment variables, registry values, the first bytes of a file, DNS, a TCP connect, an
 * SMTP handshake and login) and judges nothing; verdicts.ts does that from the facts, so every
 * verdict is tested on any OS with a fake probe. Each member is a plain property a test may replace.
 */
import { execFile } from 'node:child_process';
import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import { localizeError, MailError } from '../errors';
import { format, text } from '../i18n';
import type { SettingsInput } from '../settings';
import { listProfiles } from '../transports/mapi';
import type { SmtpEndpoint } from '../settings';
import { readFileHead } from './file-head';
import { smtpHandshake, smtpLogin } from './smtp-probe';
import type { TokenSource } from '../oauth/token-source';

/** One registry value as `reg query` prints it (`REG_SZ`, `REG_EXPAND_SZ`...). */
export interface RegistryValue {
  type: string;
  data: string;
}

/** What reading the start of a file gave. */
export type FileHead = { exists: false } | { exists: true; head: Buffer } | { exists: true; error: string };

/** A DNS lookup: the addresses, or the resolver's error code. */
export type LookupFact = { ok: true; addresses: string[] } | { ok: false; code: string; message: string };

/** A TCP connect: the address reached, or the socket error code (ECONNREFUSED, ETIMEDOUT...). */
export type ConnectFact = { ok: true; address: string } | { ok: false; code: string; message: string };

/** What the server said after EHLO (after STARTTLS when it was used), or the mapped failure. */
export type HandshakeFact =
  | { ok: true; tls: 'implicit' | 'starttls' | 'none'; tlsProtocol: string | null; extensions: string[]; heloOnly: boolean }
  | { ok: false; code: string; message: string; hint?: string };

/** The login through createMailer(settings).verify(), or its MailError. */
export type LoginFact =
  | { ok: true; authenticatedAs: string | null; tls: string; warnings: { code: string; message: string }[] }
  | { ok: false; code: string; message: string; hint?: string };

/** The raw facts the doctor reads. A test passes an object of its own, or `{ ...systemProbe(), env }`. */
export interface Probe {
  /** `process.platform` of the process whose MAPI would be used. */
  platform: string;
  /** `process.arch`: the bitness a MAPI DLL must have to be loaded in this process. */
  arch: string;
  env: Record<string, string | undefined>;
  /** One value (`name` null: the key's default value); null when the key or the value is absent. */
  readRegistry(key: string, name: string | null): Promise<RegistryValue | null>;
  /** The first `bytes` bytes of a file, or that it does not exist. */
  readFileHead(path: string, bytes: number): Promise<FileHead>;
  lookup(host: string, timeoutMs: number): Promise<LookupFact>;
  connect(host: string, port: number, timeoutMs: number): Promise<ConnectFact>;
  smtpHandshake(endpoint: SmtpEndpoint): Promise<HandshakeFact>;
  /** `tokenSource`: the OAuth2 credentials to log in with (the doctor's, which saves a rotated refresh token). */
  smtpLogin(settings: SettingsInput, tokenSource?: TokenSource): Promise<LoginFact>;
  /** The MAPI profiles (MAPIAdminProfiles through the addon); Windows only. */
  mapiProfiles?(): Promise<ProfilesFact>;
}

/** The MAPI profiles, or why they could not be listed. */
export type ProfilesFact = { ok: true; profiles: { name: string; isDefault: boolean }[] } | { ok: false; code: string; message: string; hint?: string };

/**
 * Reads the value line of `reg query KEY /v NAME` (or `/ve`) output. The value's name column is
 * localised ("(Default)", "(par défaut)"), so the line is found by its REG_ type column. reg.exe
 * prints an unset default value as a parenthesised placeholder ("(value not set)", also localised):
 * a default value wholly in parentheses is taken as unset, no mail client is named that way.
 */
export function parseRegQuery(stdout: string, isDefault: boolean): RegistryValue | null {
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s+(.*?)\s{2,}(REG_[A-Z_]+)(?:\s{2,}(.*?))?\s*$/.exec(line) ?? /^\s+(.*?)\s+(REG_[A-Z_]+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!m) continue;
    const data = m[3] ?? '';
    if (isDefault && /^\(.*\)$/.test(data)) return null;
    return { type: m[2], data };
  }
  return null;
}

/**
 * `reg query` through execFile. Run from this process, reg.exe reads the same registry view
 * (64- or 32-bit, WOW64 redirection included) as the MAPI32 this process would load.
 */
function regQuery(key: string, name: string | null): Promise<RegistryValue | null> {
  const args = ['query', key, ...(name === null ? ['/ve'] : ['/v', name])];
  return new Promise((resolve, reject) => {
    execFile('reg', args, { windowsHide: true }, (err, stdout) => {
      // A non-zero exit is "no such key or value"; a spawn failure (no reg.exe) is a real error.
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') reject(new Error(`reg ${args.join(' ')}: ${err.message}`));
      else if (err) resolve(null);
      else resolve(parseRegQuery(stdout, name === null));
    });
  });
}

/** Settles with `fallback` after `ms` unless `promise` settles first; the timer never keeps Node alive. */
function within<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback()), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

async function lookup(host: string, timeoutMs: number, locale?: string): Promise<LookupFact> {
  try {
    const found = dns.lookup(host, { all: true }).then((r): LookupFact => ({ ok: true, addresses: r.map((a) => a.address) }));
    return await within(found, timeoutMs, () => ({
      ok: false,
      code: 'ETIMEDOUT',
      message: format(text('doctor.probe.dnsTimeout', { ms: timeoutMs }), locale),
    }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: e.code ?? 'EDNS', message: e.message };
  }
}

function connect(host: string, port: number, timeoutMs: number, locale?: string): Promise<ConnectFact> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (fact: ConnectFact) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(fact);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: format(text('doctor.probe.tcpTimeout', { ms: timeoutMs }), locale) }));
    socket.once('connect', () => done({ ok: true, address: `${socket.remoteAddress}:${socket.remotePort}` }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, code: err.code ?? 'ECONNECTION', message: err.message }));
  });
}

/**
 * The probe that reads this machine. On anything but Windows, readRegistry reads nothing and says so.
 * Its messages (timeouts, the errors of the handshake, the login, the profiles) are in `locale`
 * (default: the process default): the doctor passes its own.
 */
export function systemProbe(locale?: string): Probe {
  const again = (err: MailError) => (locale === undefined ? err : localizeError(err, locale));
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    readRegistry: (key, name) =>
      process.platform === 'win32'
        ? regQuery(key, name)
        : Promise.reject(new Error(format(text('doctor.probe.noRegistry', { platform: process.platform }), locale))),
    readFileHead,
    lookup: (host, timeoutMs) => lookup(host, timeoutMs, locale),
    connect: (host, port, timeoutMs) => connect(host, port, timeoutMs, locale),
    smtpHandshake: (endpoint) => smtpHandshake(endpoint, locale),
    smtpLogin: (settings, tokenSource) => smtpLogin(settings, tokenSource, locale),
    mapiProfiles: () =>
      listProfiles().then(
        (profiles): ProfilesFact => ({ ok: true, profiles }),
        (err: MailError): ProfilesFact => {
          const e = again(err);
          return { ok: false, code: e.code ?? 'MAPI_UNAVAILABLE', message: e.message, hint: e.hint };
        },
      ),
  };
}
