/**
 * oxymail/testing: smoke-test an application's MAPI path on a bare Windows machine (a CI runner)
 * with the recording mail client shipped in this package. It registers the client as the default
 * mail client, the application sends through oxymail as usual, and the test reads what the client
 * received, one JSON object per MAPI call.
 *
 *   const client = await registerRecordingClient();
 *   const env = recordingEnv('C:\\temp\\mapi.jsonl', { returnCode: 0 });
 *   Object.assign(process.env, env);      // read by the client at each call
 *   await mailer.send(message);
 *   const calls = readRecords('C:\\temp\\mapi.jsonl');
 *   await client.unregister();             // restores the previous default client
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseRegQuery } from './doctor/probe';
import { MailError } from './errors';
import { text } from './i18n';

/** The registry key Windows' (and Wine's) MAPI32 reads to find the default mail client. */
export const MAIL_CLIENTS_KEY = 'HKLM\\Software\\Clients\\Mail';
/** A user's own choice of default mail client: when set, Windows' MAPI32 takes it over HKLM's. */
export const USER_MAIL_CLIENTS_KEY = 'HKCU\\Software\\Clients\\Mail';
/** The name the recording client is registered under. */
export const RECORDING_CLIENT_NAME = 'Oxymail Recording Client';

/** The environment variables the recording client reads at each call. */
export const RECORDING_ENV = {
  record: 'OXYMAIL_MAPI_RECORD',
  returnCode: 'OXYMAIL_MAPI_RETURN',
  /** Code returned by MAPISendMailW only: a client whose Unicode entry point fails. */
  returnCodeW: 'OXYMAIL_MAPI_RETURN_W',
  logonReturnCode: 'OXYMAIL_MAPI_LOGON_RETURN',
  sleepMs: 'OXYMAIL_MAPI_SLEEP_MS',
  /** The only password the client's logon accepts (MAPILogon, MAPILogonEx); another one fails the logon. */
  password: 'OXYMAIL_MAPI_PASSWORD',
} as const;

/** One MAPI call as the recording client wrote it. */
export interface RecordedCall {
  fn: 'MAPISendMailW' | 'MAPISendMail' | 'MAPILogon' | 'MAPILogoff' | string;
  flags?: number;
  msgFlags?: number;
  session?: number;
  uiParam?: string;
  subject?: string;
  body?: string;
  profile?: string;
  /**
   * MAPILogon / MAPILogonEx: whether a password was passed. The password itself is never recorded
   * (record files are often uploaded as CI artifacts).
   */
  passwordSet?: boolean;
  /** MAPILogon / MAPILogonEx, only when recordingEnv's `password` is set: whether the password passed was that one. */
  passwordMatches?: boolean;
  recipients?: { class: 1 | 2 | 3; name: string; address: string }[];
  attachments?: { path: string; name: string; position: number; size: number | null }[];
  [key: string]: unknown;
}

/** Runs `reg.exe`; a seam tests may replace. */
export type RegRunner = (args: string[]) => Promise<string>;

/**
 * The registry view this process's MAPI32 reads: `/reg:32` for a 32-bit Node, `/reg:64` otherwise.
 * Given explicitly, so the right view is written whichever reg.exe answers (under Wine with wine32,
 * `reg` is the 32-bit one).
 */
export const REG_VIEW = process.arch === 'ia32' ? '/reg:32' : '/reg:64';

const runReg: RegRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('reg', [...args, REG_VIEW], { windowsHide: true }, (err, stdout, stderr) =>
      err ? reject(new Error(`reg ${args[0]}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });

/** The architectures the recording client is shipped for (cross-built with mingw-w64). */
export const RECORDING_CLIENT_ARCHES = ['x64', 'ia32'] as const;

/**
 * Where the packaged recording client DLL is, for this process's architecture (x64 or ia32: a
 * process loads a mail client of its own bitness only). Other architectures get MAPI_UNAVAILABLE.
 */
export function recordingClientPath(arch = process.arch): string {
  const root = path.join(__dirname, '..');
  const candidates = [path.join(root, 'prebuilds', `win32-${arch}`, 'oxymail_recording_client.dll')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.testingNoClient', { paths: candidates.join(', ') }), {
      protocol: 'mapi',
      hint: (RECORDING_CLIENT_ARCHES as readonly string[]).includes(arch)
        ? text('MAPI_UNAVAILABLE.hint.testingBuild')
        : text('MAPI_UNAVAILABLE.hint.testingArch', { arches: RECORDING_CLIENT_ARCHES.join(', '), arch }),
    });
  }
  return found;
}

/** Reads the default mail client's name in HKLM (or the user's own choice in HKCU), or null when none is set. */
export async function defaultMailClient(reg: RegRunner = runReg, hive: 'HKLM' | 'HKCU' = 'HKLM'): Promise<string | null> {
  const out = await reg(['query', hive === 'HKLM' ? MAIL_CLIENTS_KEY : USER_MAIL_CLIENTS_KEY, '/ve']).catch(() => '');
  return parseRegQuery(out, true)?.data ?? null;
}

/** A registration, to undo when the test is over. */
export interface Registration {
  name: string;
  dll: string;
  /** The default mail client before (HKLM), restored by unregister(). */
  previous: string | null;
  /** The user's own default before (HKCU), or null; restored by unregister(), key included. */
  previousUser: string | null;
  unregister(): Promise<void>;
}

/**
 * Registers the recording client as the default mail client (Simple MAPI `DLLPath`, Extended MAPI
 * `DLLPathEx`) in HKLM, and as the current user's choice in HKCU too: a user's HKCU default would
 * otherwise win over HKLM's and silently keep the real client. Writing HKLM needs an elevated
 * process (CI runners are); only MAPI sessions opened afterwards see the change. unregister()
 * restores both exactly as they were (an HKCU key that did not exist is removed again).
 */
export async function registerRecordingClient(options: { dll?: string; reg?: RegRunner } = {}): Promise<Registration> {
  if (process.platform !== 'win32' && !options.reg) {
    throw new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.testingNotWindows', { platform: process.platform }), { protocol: 'mapi' });
  }
  const reg = options.reg ?? runReg;
  const dll = options.dll ?? recordingClientPath();
  const previous = await defaultMailClient(reg);
  const userKeyExisted = await reg(['query', USER_MAIL_CLIENTS_KEY]).then(
    () => true,
    () => false,
  );
  const previousUser = userKeyExisted ? await defaultMailClient(reg, 'HKCU') : null;
  const key = `${MAIL_CLIENTS_KEY}\\${RECORDING_CLIENT_NAME}`;
  await reg(['add', key, '/ve', '/d', RECORDING_CLIENT_NAME, '/f']);
  await reg(['add', key, '/v', 'DLLPath', '/d', dll, '/f']);
  await reg(['add', key, '/v', 'DLLPathEx', '/d', dll, '/f']);
  await reg(['add', MAIL_CLIENTS_KEY, '/ve', '/d', RECORDING_CLIENT_NAME, '/f']);
  await reg(['add', USER_MAIL_CLIENTS_KEY, '/ve', '/d', RECORDING_CLIENT_NAME, '/f']);
  const ignore = () => undefined;
  // Puts a key's default value back as it was: the previous client, or no default at all.
  const restoreDefault = async (mailKey: string, before: string | null) => {
    if (before && before !== RECORDING_CLIENT_NAME) await reg(['add', mailKey, '/ve', '/d', before, '/f']);
    else await reg(['delete', mailKey, '/ve', '/f']).catch(ignore);
  };
  return {
    name: RECORDING_CLIENT_NAME,
    dll,
    previous,
    previousUser,
    async unregister() {
      if (userKeyExisted) await restoreDefault(USER_MAIL_CLIENTS_KEY, previousUser);
      else await reg(['delete', USER_MAIL_CLIENTS_KEY, '/f']).catch(ignore);
      await restoreDefault(MAIL_CLIENTS_KEY, previous);
      await reg(['delete', key, '/f']).catch(ignore);
    },
  };
}

/** What the recording client answers (see RECORDING_ENV). */
export interface RecordingControl {
  returnCode?: number;
  returnCodeW?: number;
  /** Wins over `password`'s verdict. */
  logonReturnCode?: number;
  sleepMs?: number;
  /** The password the app's MAPI settings should carry: the logon fails (MAPI_LOGIN_FAILURE, MAPI_LOGON_FAILED) with another one, and the records say passwordMatches. */
  password?: string;
}

/** The environment that tells the client where to record and what to answer. */
export function recordingEnv(recordFile: string, control: RecordingControl = {}): Record<string, string> {
  const env: Record<string, string> = { [RECORDING_ENV.record]: recordFile };
  for (const name of ['returnCode', 'returnCodeW', 'logonReturnCode', 'sleepMs', 'password'] as const) {
    if (control[name] !== undefined) env[RECORDING_ENV[name]] = String(control[name]);
  }
  return env;
}

/** The calls the client recorded, in order ([] when it recorded none). */
export function readRecords(recordFile: string): RecordedCall[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedCall);
}
