/**
 * Runs the Windows addon under Wine from Linux jest tests, as a Windows user gets it: from the packed
 * tarball installed into a scratch app (`npm test`'s pretest, scripts/win/prepare.js, makes it).
 *
 * Layout (.cache/ is per worktree):
 * - `.cache/win/<package>@<version>/node.exe`: a Windows Node.js per target (scripts/win/targets.json)
 * - `.cache/wineprefix`: the Wine prefix (win64 with WoW64: the ia32 node.exe runs there too)
 * - `.cache/win/app/node_modules/oxymail`: the packed tarball, installed; scenarios load the addon and
 *   the public API from there (node-gyp-build picks `prebuilds/win32-<arch>/oxymail.node`)
 * - its `prebuilds/win32-<arch>/oxymail_recording_client.dll` (shipped for oxymail/testing) and
 *   `build/win-<arch>/oxymail_recording_client_ansi.dll` (tests only): the recording mail client
 *
 * Every suite runs on one target (the first of targets.json; the "windows ia32" jest project runs them
 * again on ia32; OXYMAIL_WIN_TARGET=<id> picks one by hand); test/windows/targets.test.ts runs the
 * core scenarios on every target.
 */
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withLock } from '../../lib/store/lock';

/** The package root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The Wine prefix every run uses. */
export const WINEPREFIX = process.env.WINEPREFIX || path.join(ROOT, '.cache', 'wineprefix');

/** A Windows Node.js the suites run: its arch is the addon's and the recording client's. */
export interface WinTarget {
  id: string;
  arch: 'x64' | 'ia32';
  package: string;
  version: string;
  /** Its node.exe. */
  nodeExe: string;
}

/** On a Windows runner "a Windows node" is this very Node.js: scenarios run in process.execPath. */
export const NATIVE_WINDOWS = process.platform === 'win32';

/**
 * Every target of scripts/win/targets.json, run by Wine; on Windows, the one Node.js running jest
 * (the workflow's matrix picks its version and arch).
 */
export const TARGETS: WinTarget[] = NATIVE_WINDOWS
  ? [
      {
        id: `${process.arch}-node${process.versions.node.split('.')[0]}`,
        arch: process.arch as WinTarget['arch'],
        package: 'this Node.js',
        version: process.versions.node,
        nodeExe: process.execPath,
      },
    ]
  : (JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'win', 'targets.json'), 'utf8')).targets as Omit<WinTarget, 'nodeExe'>[]).map((t) => ({
      ...t,
      nodeExe: path.join(ROOT, '.cache', 'win', `${t.package}@${t.version}`, 'node.exe'),
    }));

function selectTarget(id: string | undefined): WinTarget {
  if (!id) return TARGETS[0];
  const t = TARGETS.find((x) => x.id === id);
  if (!t) throw new Error(`OXYMAIL_WIN_TARGET=${id}: not in scripts/win/targets.json (${TARGETS.map((x) => x.id).join(', ')})`);
  return t;
}

/** The target every suite runs on: the jest project's (jest.config.js), else OXYMAIL_WIN_TARGET's, else the first. */
export const TARGET = NATIVE_WINDOWS
  ? TARGETS[0]
  : selectTarget((globalThis as { OXYMAIL_WIN_TARGET?: string }).OXYMAIL_WIN_TARGET ?? process.env.OXYMAIL_WIN_TARGET);
/** Windows node.exe, run by Wine. */
export const NODE_EXE = TARGET.nodeExe;
/** The scratch app the packed tarball is installed into (OXYMAIL_TEST_APP on the runners), and the package there. */
export const APP = process.env.OXYMAIL_TEST_APP || path.join(ROOT, '.cache', 'win', 'app');
export const PACKAGE = path.join(APP, 'node_modules', 'oxymail');
/** The shipped addon of an arch, inside the installed package. */
export const addonOf = (arch: WinTarget['arch']): string => path.join(PACKAGE, 'prebuilds', `win32-${arch}`, 'oxymail.node');
/** The recording mail client DLLs of an arch: with MAPISendMailW (shipped), and ANSI only (tests only). */
export const clientOf = (arch: WinTarget['arch']) =>
  ({
    wide: path.join(PACKAGE, 'prebuilds', `win32-${arch}`, 'oxymail_recording_client.dll'),
    ansi: path.join(ROOT, 'build', `win-${arch}`, 'oxymail_recording_client_ansi.dll'),
  }) as const;
/** The target's addon and client DLLs. */
export const ADDON = addonOf(TARGET.arch);
export const CLIENT_DLL = clientOf(TARGET.arch);
/** The scenario scripts that node.exe runs. */
export const SCENARIOS = path.join(__dirname, 'scenarios');

/** `/reg:64` or `/reg:32`: the registry view a node.exe of that arch reads (wine32's reg.exe would write the 32-bit one). */
export const regView = (arch: WinTarget['arch']): string => (arch === 'ia32' ? '/reg:32' : '/reg:64');

/** The recording client's environment variables, cleared from every run's base environment. */
const CLIENT_ENV = [
  'OXYMAIL_MAPI_RECORD',
  'OXYMAIL_MAPI_RETURN',
  'OXYMAIL_MAPI_RETURN_W',
  'OXYMAIL_MAPI_LOGON_RETURN',
  'OXYMAIL_MAPI_SLEEP_MS',
  'OXYMAIL_MAPI_WAIT_FOR',
  'OXYMAIL_MAPI_HOLD_UNTIL',
  'OXYMAIL_MAPI_PASSWORD',
  // The Extended MAPI provider's (test/fixtures/mapi-client/extended_provider.c).
  'OXYMAIL_MAPI_FAIL_AT',
  'OXYMAIL_MAPI_FAIL_HR',
  'OXYMAIL_MAPI_NO_DEFAULT_STORE',
  'OXYMAIL_MAPI_NO_SENT',
  'OXYMAIL_MAPI_NO_ADDRESS_BOOK',
  'OXYMAIL_MAPI_FAIL_FOR',
  'OXYMAIL_MAPI_PROFILES',
];

/** Linux path -> the Windows path Wine maps it to on drive Z: (on Windows: the path itself). */
export function winPath(linuxPath: string): string {
  if (NATIVE_WINDOWS) return path.resolve(linuxPath);
  return 'Z:' + path.resolve(linuxPath).split('/').join('\\');
}

function onPath(command: string): boolean {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, command)));
}

/** Whether the tools and files the Windows suite needs are here; `why` lists what is missing. */
export function wineAvailable(): { ok: boolean; why?: string } {
  const missing: string[] = [];
  for (const tool of [
    'wine',
    'x86_64-w64-mingw32-g++-posix',
    'i686-w64-mingw32-g++-posix',
    'x86_64-w64-mingw32-dlltool',
    'i686-w64-mingw32-dlltool',
    'cmake',
  ]) {
    if (!onPath(tool)) missing.push(`${tool} (not on PATH)`);
  }
  if (!fs.existsSync('/usr/lib/wine/wine')) missing.push('wine32 (/usr/lib/wine/wine: the 32-bit loader the ia32 node.exe needs)');
  for (const t of TARGETS) if (!fs.existsSync(t.nodeExe)) missing.push(`${path.relative(ROOT, t.nodeExe)} (Windows node.exe, ${t.id})`);
  if (!fs.existsSync(path.join(WINEPREFIX, 'system.reg'))) missing.push(`WINEPREFIX ${WINEPREFIX}`);
  for (const t of TARGETS) if (!fs.existsSync(addonOf(t.arch))) missing.push(`${path.relative(ROOT, addonOf(t.arch))} (the packed tarball, installed)`);
  return missing.length === 0 ? { ok: true } : { ok: false, why: `missing: ${missing.join(', ')}` };
}

/** The environment every Wine process (or, on Windows, every scenario's node) gets, plus `extra`. */
export function wineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLIENT_ENV) delete env[name];
  if (NATIVE_WINDOWS) return { ...env, ...extra };
  return {
    ...env,
    WINEPREFIX,
    WINEDEBUG: '-all',
    // Wine reports an old Windows version that node.exe refuses without this.
    NODE_SKIP_PLATFORM_CHECK: '1',
    // Avoids the Mono/Gecko install prompt if the prefix is ever recreated here.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    // Wine takes the Unix file-name encoding from the C library locale (it
    // must exist: C.UTF-8 always does) and maps it to code page 1252 for
    // MAPISendMail strings.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ...extra,
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, cwd: ROOT, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Makes the recording client (with or without MAPISendMailW) of an arch the default mail client in
 * that arch's registry view, or registers `dll` instead. Wine's MAPI32 reads this when a process loads it.
 */
export async function registerClient(variant: 'wide' | 'ansi' = 'wide', arch: WinTarget['arch'] = TARGET.arch, dll = clientOf(arch)[variant]): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts', 'win', 'register-client.sh'), variant, arch], wineEnv({ OXYMAIL_CLIENT_DLL: dll }));
}

/** Runs `wine reg ...args` in an arch's registry view; resolves with reg.exe's exit code (0: done or found). */
export function wineReg(args: string[], arch: WinTarget['arch'] = TARGET.arch): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('wine', ['reg', ...args, regView(arch)], { env: wineEnv() }, (err) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') reject(err);
      else resolve(err ? Number((err as { code?: number }).code ?? 1) : 0);
    });
  });
}

/** Leaves the prefix with no default mail client at all (in an arch's view). */
export async function unregisterClient(arch: WinTarget['arch'] = TARGET.arch): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts', 'win', 'unregister-client.sh'), arch], wineEnv());
}

/** The outcome of one node.exe run. `code` is null when it was killed after `timeoutMs`. */
export interface WineRun {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node.exe scriptPath ...args` under Wine (on Windows: `nodeExe`, process.execPath by
 * default, directly). Linux paths in `args` are not converted: pass winPath() values.
 * stdout/stderr go to files, because node.exe under Wine fails with EBADF when they are pipes.
 */
export async function runUnderWine(
  scriptPath: string,
  args: string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  nodeExe = NODE_EXE,
): Promise<WineRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-wine-'));
  const outFile = path.join(dir, 'stdout.txt');
  const errFile = path.join(dir, 'stderr.txt');
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  const started = Date.now();
  try {
    const [command, ...prefix] = NATIVE_WINDOWS ? [nodeExe] : ['wine', nodeExe];
    const child = spawn(command, [...prefix, winPath(scriptPath), ...args], {
      env: wineEnv(env),
      cwd: ROOT,
      stdio: ['ignore', out, err],
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    clearTimeout(timer);
    return {
      code: timedOut ? null : code,
      timedOut,
      stdout: fs.readFileSync(outFile, 'utf8'),
      stderr: fs.readFileSync(errFile, 'utf8'),
      ms: Date.now() - started,
    };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Splits records at the {"fn":"step","i":n} markers that scenarios/extended.js
 * writes before each step: element n holds step n's records, without the marker.
 */
export function recordsBySteps(records: Array<Record<string, any>>): Array<Array<Record<string, any>>> {
  const steps: Array<Array<Record<string, any>>> = [];
  for (const r of records) {
    if (r.fn === 'step') steps[r.i] = [];
    else if (steps.length > 0) steps[steps.length - 1].push(r);
  }
  return steps;
}

/**
 * Every step of an Extended MAPI send where the fake provider can fail on demand
 * (OXYMAIL_MAPI_FAIL_AT), in the order a send reaches them: [the provider call that fails, the
 * call the addon names in its result and oxymail in its message].
 */
export const EXTENDED_FAILURE_POINTS: ReadonlyArray<readonly [string, string]> = [
  ['MAPIInitialize', 'MAPIInitialize'],
  ['MAPILogonEx', 'MAPILogonEx'],
  ['IMAPISession::GetMsgStoresTable', 'IMAPISession::GetMsgStoresTable'],
  ['HrQueryAllRows', 'HrQueryAllRows'],
  ['IMAPISession::OpenMsgStore', 'IMAPISession::OpenMsgStore'],
  ['IMsgStore::GetProps', 'IMsgStore::GetProps'],
  ['IMsgStore::OpenEntry', 'IMsgStore::OpenEntry(Outbox)'],
  ['IMAPIFolder::CreateMessage', 'IMAPIFolder::CreateMessage'],
  ['IMessage::SetProps', 'IMessage::SetProps'],
  ['IMAPISession::OpenAddressBook', 'IMAPISession::OpenAddressBook'],
  ['IAddrBook::CreateOneOff', 'IAddrBook::CreateOneOff'],
  ['IMessage::ModifyRecipients', 'IMessage::ModifyRecipients'],
  ['IMessage::CreateAttach', 'IMessage::CreateAttach'],
  ['IAttach::SetProps', 'IAttach::SetProps'],
  ['IAttach::OpenProperty', 'IAttach::OpenProperty'],
  ['IStream::Write', 'IStream::Write'],
  ['IStream::Commit', 'IStream::Commit'],
  ['IAttach::SaveChanges', 'IAttach::SaveChanges'],
  ['IMessage::SubmitMessage', 'IMessage::SubmitMessage'],
];

/** The one-off provider UID that starts MAPI's one-off entry IDs ([MS-OXCDATA] 2.2.5.1), as the fake provider writes them. */
export const ONE_OFF_UID = '812b1fa4bea310199d6e00dd010f5402';

/** A one-off entry ID as recorded (hex), decoded: its flags word and its three UTF-16 strings. */
export function decodeOneOff(hex: string): { uid: string; flags: number; name: string; type: string; address: string } {
  const id = Buffer.from(hex, 'hex');
  const [name, type, address, rest] = id.subarray(24).toString('utf16le').split('\u0000');
  if (id.readUInt32LE(0) !== 0 || id.readUInt16LE(20) !== 0 || rest !== '' || address === undefined) {
    throw new Error(`not a one-off entry ID: ${hex}`);
  }
  return { uid: id.subarray(4, 20).toString('hex'), flags: id.readUInt16LE(22), name, type, address };
}

/** A distinct HRESULT for failure point i (OXYMAIL_MAPI_FAIL_HR), so each outcome shows which step failed. */
export const failureHresult = (i: number): number => 0x80040100 + i;

/** CRC-32 (IEEE, as zlib's), for checking what the fake provider saw streamed. */
export function crc32(data: Buffer, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** One JSON object per line, as the recording client writes them; [] if the file is missing. */
export function readRecord(file: string): Array<Record<string, any>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** What runScenario gives back: the run, the scenario's result file, the client's records. */
export interface ScenarioRun<T = any> {
  run: WineRun;
  result: T;
  records: Array<Record<string, any>>;
  /** A fresh directory for the scenario's files (attachments...). */
  dir: string;
}

/**
 * Runs test/windows/scenarios/<name>.js in the target's node.exe with the installed package (the
 * scenario loads the addon through node-gyp-build, the public API through the package), `input`
 * as its JSON input, and OXYMAIL_MAPI_RECORD pointing at a fresh record file (unless `env` sets it).
 * `input` may be a function that creates files in the scenario's directory and returns the input.
 * `nodeExe` runs another node.exe of the target's arch (a copy under another name).
 */
export async function runScenario<T = any>(
  name: string,
  input: unknown | ((dir: string) => unknown),
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  target: WinTarget = TARGET,
  nodeExe = target.nodeExe,
): Promise<ScenarioRun<T>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `oxymail-${name}-`));
  const recordFile = path.join(dir, 'record.jsonl');
  const resultFile = path.join(dir, 'result.json');
  const inputFile = path.join(dir, 'input.json');
  const value = typeof input === 'function' ? (input as (d: string) => unknown)(dir) : input;
  fs.writeFileSync(inputFile, JSON.stringify(value ?? {}));
  const run = await runUnderWine(
    path.join(SCENARIOS, `${name}.js`),
    [winPath(PACKAGE), winPath(resultFile), winPath(inputFile)],
    { OXYMAIL_MAPI_RECORD: winPath(recordFile), ...env },
    timeoutMs,
    nodeExe,
  );
  const result = fs.existsSync(resultFile) ? JSON.parse(fs.readFileSync(resultFile, 'utf8')) : undefined;
  if (result === undefined) {
    throw new Error(`scenario ${name} wrote no result (exit ${run.code}${run.timedOut ? ', timed out' : ''})\n${run.stderr}`);
  }
  return { run, result, records: readRecord(recordFile), dir };
}

/** The lock file the Windows suites take on the Wine prefix (withLock adds `.lock`). */
const PREFIX_LOCK = path.join(WINEPREFIX, '.oxymail-suites');
/**
 * How long a suite waits for the prefix. Every test file holds it from its first test to its last,
 * so with parallel jest workers one may wait for all the others: generous, for a slow loaded machine.
 */
export const PREFIX_LOCK_TIMEOUT_MS = 30 * 60_000;

/**
 * Takes `withLock(file)` and keeps it until the returned function is called (withLock runs a callback;
 * a suite holds the lock from beforeAll to afterAll). A lock left by a dead process, or by one that
 * died before writing its pid, is taken over by withLock, one waiter at a time.
 */
export async function holdLock(file: string, timeoutMs: number, what: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let acquired!: () => void;
  const taken = new Promise<void>((resolve) => (acquired = resolve));
  const done = withLock(
    file,
    () => {
      acquired();
      return released;
    },
    { timeoutMs, onWait: (holder) => console.log(`waiting for ${what}, held by ${holder}`) },
  ).catch((err: Error) => {
    throw new Error(`${what}: ${err.message} (waited ${timeoutMs} ms; another jest run on the same prefix? set WINEPREFIX to a copy)`, { cause: err });
  });
  // `done` settles first only when the lock could not be taken.
  await Promise.race([taken, done]);
  return async () => {
    release();
    await done;
  };
}

let held: { depth: number; release: Promise<() => Promise<void>> } | undefined;

/**
 * Takes the Wine prefix for this test file (reentrant): files running in parallel jest workers would
 * otherwise switch the default mail client under each other's feet.
 */
export async function lockPrefix(): Promise<void> {
  if (held) {
    held.depth++;
    await held.release;
    return;
  }
  const mine = { depth: 1, release: holdLock(PREFIX_LOCK, PREFIX_LOCK_TIMEOUT_MS, `the Wine prefix ${WINEPREFIX}`) };
  held = mine;
  await mine.release.catch((err) => {
    if (held === mine) held = undefined;
    throw err;
  });
}

/** Gives the prefix back (see lockPrefix). */
export async function unlockPrefix(): Promise<void> {
  if (!held || --held.depth > 0) return;
  const { release } = held;
  held = undefined;
  const giveBack = await release;
  await giveBack();
}

/** The banner shown when the Windows suite cannot run. */
export function missingBanner(why: string): string {
  const line = '='.repeat(78);
  return [
    line,
    'oxymail Windows suite (Wine) CANNOT RUN: ' + why,
    'Install (as root: dpkg --add-architecture i386, then apt-get installs wine, wine64, wine32:i386,',
    'g++-mingw-w64-x86-64, g++-mingw-w64-i686, cmake): bash scripts/win/setup.sh',
    'Prepare (node.exe per target, prefix, cross-build, npm pack, scratch app): npm test does it,',
    'or node scripts/win/prepare.js; then: npx jest test/windows',
    line,
  ].join('\n');
}

/**
 * True when the Windows suite can run here. Otherwise it registers one test, titled `title`, that
 * prints the banner saying what is missing and how to install it; under CI on Linux that test
 * fails (CI must install what the suite needs), on a Windows runner it passes: Wine is the Linux
 * way to run Windows code, a Windows runner tests the prebuilds natively.
 */
export function wineReady(title: string): boolean {
  const availability = wineAvailable();
  if (availability.ok) {
    // The suites change the prefix's registry (default mail client, HKCU): one file at a time.
    beforeAll(lockPrefix, PREFIX_LOCK_TIMEOUT_MS + 60_000);
    afterAll(unlockPrefix);
    return true;
  }
  describe(title, () => {
    test('needs wine (wine32 too), mingw-w64 (x86_64, i686), cmake and the packed tarball: see the banner', () => {
      const banner = missingBanner(availability.why ?? 'unknown');
      console.warn(banner);
      if (process.env.CI && process.platform !== 'win32') throw new Error(banner);
    });
  });
  return false;
}

/** One case of the public-API scenario (scenarios/api.js): a mailer, one or more sends. */
export interface ApiCase {
  name: string;
  settings?: object;
  message?: object;
  messages?: object[];
  sendOptions?: object;
  mailerOptions?: object;
  /** Creates the file OXYMAIL_MAPI_WAIT_FOR names at this tick of the scenario's 100 ms interval. */
  releaseAfterTicks?: number;
  /** Calls listProfiles() instead of sending. */
  listProfiles?: boolean;
  /** When an `endless` attachment stream is first read: abort the send's signal, or close the mailer. */
  endOnFirstRead?: 'abort' | 'close';
  env?: Record<string, string | null>;
}

/** What one case of runApiCases reports. */
export interface ApiOutcome {
  /** Per message: { result } or { error: { code, message, hint, mapiCode, name } }. */
  sent: any[];
  ticks: number;
  /** Recorded attachment paths inside the case's temp folder, and those still there afterwards. */
  tempCopies: number;
  leftovers: string[];
  /** Everything left in the case's own temp folder (TEMP) once the sends settled. */
  tempLeft: string[];
  /** With OXYMAIL_MAPI_HOLD_UNTIL: what is left of the temp folder once the client let go and it was emptied. */
  tempLeftAfterRelease?: string[];
  peakGrowthKiB: number;
  records: any[];
}

/**
 * Runs public-API cases in one node.exe (scenarios/api.js); each case gets its own record file, its
 * own empty temp folder (TEMP, so os.tmpdir() and oxymail's temp copies are the case's alone) and
 * starts with the recording client's controls cleared.
 */
export async function runApiCases(build: (dir: string) => ApiCase[]): Promise<Record<string, ApiOutcome>> {
  let dir = '';
  const { result, run } = await runScenario('api', (d: string) => {
    dir = d;
    const cleared = Object.fromEntries([...CLIENT_ENV, 'OXYMAIL_MAPI_DLL'].map((name) => [name, null]));
    const cases = build(d).map((c) => {
      const temp = path.join(d, `${c.name}.tmp`);
      fs.mkdirSync(temp);
      const env = { ...cleared, ...c.env, OXYMAIL_MAPI_RECORD: winPath(path.join(d, `${c.name}.jsonl`)), TEMP: winPath(temp), TMP: winPath(temp) };
      return { ...c, env };
    });
    return { cases };
  });
  if (result.error) throw new Error(`scenario failed: ${JSON.stringify(result.error)}\n${run.stderr}`);
  const byName: Record<string, ApiOutcome> = {};
  for (const o of result.outcomes) byName[o.name] = { ...o, records: readRecord(path.join(dir, `${o.name}.jsonl`)) };
  return byName;
}

/** What every Windows suite needs first: the recording client of the target's arch registered (the rest is prepared by npm test's pretest). */
export async function prepareWine(): Promise<void> {
  await registerClient('wide');
}
