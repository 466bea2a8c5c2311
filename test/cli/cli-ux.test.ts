/**
 * The command line as a user meets it, the real binary as a child process: --version, one-line
 * usage errors, required options marked, stdin for file options, --user/--settings everywhere,
 * settings files with comments, "did you mean", what verify really negotiated, the progress bar.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSettingsStore } from '../../lib';
import { tempDir, writeFixture } from '../helpers/fixtures';
import { smtpSettings, startServer, TestServer } from '../helpers/server';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
// A Windows runner has no mail client: MAPI stops at LoadLibraryW (see settings-cli.test.ts).
const BASE_ENV = { ...process.env, OXYMAIL_MAPI_DLL: 'C:\\oxymail-test\\no-such-mapi.dll' };

function run(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...BASE_ENV, ...options.env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => server.received.splice(0));

/** A user file (with comments, as people write them) and a store holding the same user as alice. */
async function alice(smtp: Record<string, unknown> = {}) {
  const dir = tempDir();
  const settings = smtpSettings(server.port, { username: 'alice', password: 'secret', ...smtp });
  const file = path.join(dir, 'alice.json');
  writeFileSync(file, `// Alice's settings\n${JSON.stringify(settings, null, 2).replace('"customize"', '/* SMTP, not the relay */ "customize"')}\n`);
  const store = path.join(dir, 'users.json');
  await openSettingsStore(store).set('alice', settings);
  return { dir, file, env: { OXYMAIL_SETTINGS: store } };
}

test('--version prints the version of package.json', async () => {
  const r = await run(['--version']);
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test.each([
  [['send', '--to', 'bob@example.com', '--text', 'x'], /^error: required option '--subject <text>' not specified$/, 'oxymail send'],
  [
    ['send', '--to', 'bob@example.com', '--subject', 's'],
    /^error: the message needs a body: --text TEXT, --text-file FILE or --html-file FILE$/,
    'oxymail send',
  ],
  [['verify'], /^error: which user\? give --user USER .* or --settings FILE/, 'oxymail verify'],
  [['settings', 'set', 'alice', 'smtp.prot=25'], /^error: unknown setting 'smtp\.prot'; did you mean smtp\.port\?/, 'oxymail settings set'],
  [['frobnicate'], /^error: unknown command 'frobnicate'$/, 'oxymail'],
])('a usage error is one line and where to read more, never the whole help: %j', async (args, first, command) => {
  const { env } = await alice();
  const r = await run(args, { env });
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(first);
  expect(lines.slice(1)).toEqual([`(see '${command} --help')`]);
  expect(r.stderr).not.toMatch(/Usage:|Options:/);
});

test('help says which options are required', async () => {
  const r = await run(['send', '--help']);
  expect(r.stdout).toMatch(/^\s+--to <address>\s+recipient \(repeat for several\) \(required\)$/m);
  expect(r.stdout).toMatch(/^\s+--subject <text>\s+subject \(required\)$/m);
  expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/--text <text> plain-text body \(a body is required: --text, --text-file or --html-file\)/);
  expect(r.stdout).not.toMatch(/--cc <address>.*\(required\)/);
});

test("'-' reads a file option from stdin: --text-file - and --html-file -; two of them is a usage error", async () => {
  const outbox = path.join(tempDir(), 'o');
  const base = ['send', '--to', 'bob@example.com', '--subject', 's', '--outbox', outbox, '--json'];
  const text = await run([...base, '--text-file', '-'], { stdin: 'Bonjour Zoé,\nci-joint.\n' });
  expect(text.code).toBe(0);
  const eml = readFileSync(JSON.parse(text.stdout).outbox, 'utf8');
  expect(eml).toMatch(/Bonjour Zo=C3=A9,\r\nci-joint\./);
  const html = await run([...base, '--html-file', '-'], { stdin: '<p>Bonjour <b>Zoé</b></p>' });
  expect(html.code).toBe(0);
  expect(readFileSync(JSON.parse(html.stdout).outbox, 'utf8')).toMatch(/<p>Bonjour <b>Zo=C3=A9<\/b><\/p>/);
  const both = await run([...base, '--text-file', '-', '--html-file', '-']);
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/only one option can read stdin \('-'\): --text-file and --html-file/);
});

test('--settings - reads the user from stdin (comments allowed), and the message reaches the server', async () => {
  const { file } = await alice();
  const r = await run(['send', '--settings', '-', '--to', 'bob@example.com', '--subject', 'Par stdin', '--text', 'x', '--json'], {
    stdin: readFileSync(file, 'utf8'),
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(server.received.map((m) => [m.user, m.parsed.subject])).toEqual([['alice', 'Par stdin']]);
});

/** Runs the CLI with its stdout already closed by the reader (as `oxymail ... | head -1` ends up). */
function runReaderGone(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('a reader that goes away (| head) is no crash: help ends quietly, a send still reaches the server', async () => {
  const help = await runReaderGone(['--help']);
  expect(help).toEqual({ code: 0, stderr: '' });
  const { env } = await alice();
  const send = await runReaderGone(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Lecteur parti', '--text', 'x'], env);
  expect(send).toEqual({ code: 0, stderr: '' });
  expect(server.received.map((m) => [m.user, m.parsed.subject])).toEqual([['alice', 'Lecteur parti']]);
});

test('a settings file that is not JSON names the line and column, never its text (a password)', async () => {
  const dir = tempDir();
  const file = writeFixture(dir, 'bad.json', '{ "smtp": { "password": hunter2-Secret } }');
  const r = await run(['verify', '--settings', file, '--json']);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INVALID_SETTINGS', problems: [{ path: '(file)', message: 'InvalidSymbol at line 1, column 25' }] });
  expect(r.stdout + r.stderr).not.toContain('hunter2');
});

test('a misspelt key is answered with the keys of its own object and a guess', async () => {
  const { env, dir } = await alice();
  const set = await run(['settings', 'set', 'alice', 'smtp.prot=25'], { env });
  expect(set.stderr).toMatch(/did you mean smtp\.port\? \(the smtp keys: host, port, security, username, password/);
  expect(set.stderr).not.toMatch(/label|customize/);
  const file = writeFixture(dir, 'typo.json', JSON.stringify({ email: 'a@example.com', smtp: { host: 'h', prot: 25 }, defautls: { importance: 'high' } }));
  const r = await run(['verify', '--settings', file, '--json']);
  const problems = JSON.parse(r.stdout).error.problems;
  expect(problems).toEqual(
    expect.arrayContaining([
      { path: 'smtp.prot', message: expect.stringMatching(/^unknown setting; did you mean smtp\.port\? \(the smtp keys: host, port,/) },
      { path: 'defautls.importance', message: expect.stringMatching(/^unknown setting; did you mean defaults\? \(the keys: label, email, customize,/) },
    ]),
  );
});

test('verify --user and verify --settings: the TLS the connection negotiated and the login the server accepted', async () => {
  const { env, file } = await alice();
  for (const source of [
    ['--user', 'alice'],
    ['--settings', file],
  ]) {
    const r = await run(['verify', ...source], { env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^OK: smtp 127\.0\.0\.1:\d+, TLSv1\.[23] \(STARTTLS, TLS_[A-Z0-9_]+\), logged in as alice \(PLAIN\)$/m);
  }
  const json = JSON.parse((await run(['verify', '--user', 'alice', '--json'], { env })).stdout);
  expect(json).toMatchObject({
    tls: 'starttls',
    tlsProtocol: expect.stringMatching(/^TLSv1\.[23]$/),
    cipher: expect.any(String),
    authenticatedAs: 'alice',
    authMethod: 'PLAIN',
  });
});

test('verify says "no TLS" for a session that stayed in clear', async () => {
  const clear = await startServer({ hideSTARTTLS: true });
  try {
    const file = writeFixture(tempDir(), 'c.json', JSON.stringify(smtpSettings(clear.port)));
    const r = await run(['verify', '--settings', file]);
    expect(r.stdout).toMatch(/^OK: smtp 127\.0\.0\.1:\d+, no TLS \(the session stayed unencrypted\), no login$/m);
    expect(r.stdout).not.toMatch(/starttls-when-offered/);
  } finally {
    await clear.close();
  }
});

test('settings test and doctor take --settings FILE as well as a stored user', async () => {
  const { env, file } = await alice();
  const tested = await run(['settings', 'test', '--settings', file, '--json'], { env });
  expect(tested.code).toBe(0);
  expect(JSON.parse(tested.stdout)).toMatchObject({ user: 'alice.json', protocol: 'smtp', verify: { authenticatedAs: 'alice', tls: 'starttls' } });
  const byOption = await run(['settings', 'test', '--user', 'alice', '--json'], { env });
  expect(JSON.parse(byOption.stdout)).toMatchObject({ user: 'alice', verify: { authenticatedAs: 'alice' } });
  const doctor = await run(['doctor', '--settings', file, '--json'], { env });
  const report = JSON.parse(doctor.stdout);
  expect(report.lines.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining(['smtp.login']));
  expect(report.lines.find((l: { id: string }) => l.id === 'smtp.login').verdict).toBe('ok');
  expect(doctor.stdout).not.toContain('secret');
  const both = await run(['doctor', '--user', 'alice', '--settings', file], { env });
  expect(both.code).toBe(2);
});

test('capabilities --protocol mapi shows both MAPI interfaces', async () => {
  const text = await run(['capabilities', '--protocol', 'mapi']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^option\s+mapi-simple\s+mapi-extended$/m);
  expect(text.stdout).toMatch(/^importance\s+no\s+yes$/m);
  const json = JSON.parse((await run(['capabilities', '--protocol', 'mapi', '--json'])).stdout);
  expect(Object.keys(json)).toEqual(['mapi-simple', 'mapi-extended']);
  expect(json['mapi-extended'].deliveryReceipt.supported).toBe(true);
});

test("settings import takes one user's settings file with --id (comments allowed), and one user of an export", async () => {
  const { file, dir } = await alice();
  const env = { OXYMAIL_SETTINGS: path.join(dir, 'other-store.json') };
  const without = await run(['settings', 'import', file], { env });
  expect(without.code).toBe(2);
  expect(without.stderr).toMatch(/holds one user's settings, not an export: say which user they are with --id USER/);
  const r = await run(['settings', 'import', file, '--id', 'alice2', '--json'], { env });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ imported: ['alice2'] });
  expect(await openSettingsStore(env.OXYMAIL_SETTINGS).get('alice2')).toMatchObject({ email: 'alice@example.com', smtp: { password: 'secret' } });
  const exported = writeFixture(
    dir,
    'export.json',
    JSON.stringify({ version: 1, users: { zoe: { email: 'zoe@example.com' }, max: { email: 'max@example.com' } } }),
  );
  expect((await run(['settings', 'import', exported, '--id', 'zoe'], { env })).code).toBe(0);
  expect((await openSettingsStore(env.OXYMAIL_SETTINGS).list()).map((u) => u.userId).sort()).toEqual(['alice2', 'zoe']);
  const missing = await run(['settings', 'import', exported, '--id', 'nobody', '--json'], { env });
  expect(JSON.parse(missing.stdout).error.code).toBe('SETTINGS_NOT_FOUND');
});

describe('the progress bar of a send with attachments', () => {
  const hasScript = process.platform === 'linux' && /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');
  if (!hasScript) {
    test('util-linux `script` is installed (the terminal tests need it)', () => {
      if (process.env.CI && process.platform === 'linux') throw new Error('CI must have util-linux script (Debian: bsdutils)');
      process.stderr.write('\n!! util-linux `script` is missing: the progress bar test on a terminal CANNOT RUN here.\n');
    });
  }

  /** Runs the CLI on a pseudo-terminal (util-linux script); resolves with what the screen showed. */
  function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; screen: string }> {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...BASE_ENV, ...env } });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    child.stdin.end();
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, screen }));
    });
  }

  (hasScript ? test : test.skip)('on a terminal it counts the attachment bytes up to 100%; --json and a pipe show none', async () => {
    const { env, dir } = await alice();
    const big = writeFixture(dir, 'archive.bin', Buffer.alloc(3_000_000, 7));
    const args = ['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'gros', '--text', 'x', '--attach', big];
    const tty = await onTerminal(args, env);
    expect(tty.code).toBe(0);
    expect(tty.screen).toMatch(/sending attachments \[#{30}\] 100%  3\.0 \/ 3\.0 MB/);
    expect(tty.screen).toMatch(/Sent by smtp/);
    expect(server.received.at(-1)?.parsed.attachments[0]).toMatchObject({ filename: 'archive.bin', size: 3_000_000 });
    const json = await onTerminal([...args, '--json'], env);
    expect(json.code).toBe(0);
    expect(json.screen).not.toMatch(/sending attachments/);
    const piped = await run(args, { env });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(server.received).toHaveLength(3);
    expect(server.received.every((m) => m.parsed.attachments[0].content.equals(Buffer.alloc(3_000_000, 7)))).toBe(true);
  });
});
