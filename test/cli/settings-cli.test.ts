/**
 * `oxymail settings ...` and `send --user`, the real binary as a child process, on a private store.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSettingsStore } from '../../lib';
import { getPath } from '../../lib/store/paths';
import { startServer, testCert } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const WINDOWS = process.platform === 'win32';

/**
 * The environment of every CLI run. A Windows runner has no mail client, and the system MAPI32
 * may then show a message box and wait: a missing DLL makes MAPI fail at LoadLibraryW instead
 * (MAPI_UNAVAILABLE, as on Linux). Elsewhere the variable is never read.
 */
const BASE_ENV = { ...process.env, OXYMAIL_MAPI_DLL: 'C:\\oxymail-test\\no-such-mapi.dll' };

/**
 * `settings test` arguments that make a MAPI user's test fail for want of MAPI on every platform:
 * off Windows verify() fails (no addon); on Windows the addon loads, so verify() passes, and the
 * test message then fails at LoadLibraryW (OXYMAIL_MAPI_DLL above).
 */
const MAPI_FAILS = WINDOWS ? ['--to', 'me@example.com'] : [];

function run(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...BASE_ENV, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/**
 * Checks how a secret is kept in the store file: as text off Windows (the file is private), sealed
 * with DPAPI on Windows (the text nowhere in the file); and that it opens to `plain` for this user.
 */
async function expectStoredSecret(file: string, user: string, key: string, plain: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const stored = getPath(JSON.parse(text).users[user], key);
  if (WINDOWS) {
    expect(stored).toEqual({ dpapi: expect.stringMatching(/^[A-Za-z0-9+/]+={0,2}$/) });
    expect(text).not.toContain(plain);
  } else {
    expect(stored).toBe(plain);
    expect(statSync(file).mode & 0o077).toBe(0);
  }
  expect(getPath(await openSettingsStore(file).get(user), key)).toBe(plain);
}

test('an administrator creates an SMTP user and a MAPI user, lists, tests and sends with --user', async () => {
  const server = await startServer();
  const dir = tempDir();
  const env = { OXYMAIL_SETTINGS: path.join(dir, 'users.json') };
  try {
    const set = await run(
      [
        'settings',
        'set',
        'alice',
        'label=Alice Martin',
        'email=alice@example.com',
        'customize=true',
        'protocol=smtp',
        'smtp.host=127.0.0.1',
        `smtp.port=${server.port}`,
        'smtp.username=alice',
        `smtp.tls.ca=${testCert().cert}`,
        '--password-stdin',
      ],
      env,
      'secret\n',
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect((await run(['settings', 'set', 'bob', 'email=bob@example.com', 'customize=true', 'protocol=mapi', 'mapi.profile=Outlook'], env)).code).toBe(0);

    const list = await run(['settings', 'list', '--json'], env);
    const users = JSON.parse(list.stdout);
    expect(users.map((u: { userId: string }) => u.userId)).toEqual(['alice', 'bob']);
    expect(users[0].settings.smtp).toMatchObject({ port: server.port, password: '********' });
    expect(list.stdout).not.toContain('secret');

    const human = await run(['settings', 'list'], env);
    expect(human.stdout).toMatch(/^alice\s+Alice Martin\s+alice@example\.com\s+smtp\s+127\.0\.0\.1:\d+$/m);
    expect(human.stdout).toMatch(/^bob\s+bob@example\.com\s+mapi\s+profile Outlook$/m);

    const tested = await run(['settings', 'test', 'alice', '--to', 'me@example.com', '--json'], env);
    expect(tested.code).toBe(0);
    const report = JSON.parse(tested.stdout);
    expect(report.verify).toMatchObject({
      authenticatedAs: 'alice',
      tls: 'starttls',
      tlsPolicy: 'starttls-when-offered',
      tlsProtocol: expect.stringMatching(/^TLSv1\.[23]$/),
    });
    expect(report.dsnOffered).toBe(true);
    const words = await run(['settings', 'test', 'alice'], env);
    expect(words.stdout).toMatch(/^ok connected to 127\.0\.0\.1:\d+ \(smtp\)$/m);
    expect(words.stdout).toMatch(/^ok authenticated as alice$/m);
    expect(words.stdout).toMatch(/^ok the server offers DSN: delivery receipts will work$/m);
    expect(report.sent.receipts).toEqual({ read: 'requested', delivery: 'requested' });
    expect(server.received).toHaveLength(1);
    expect(server.received[0].rcptTo[0].dsn?.notify).toEqual(['SUCCESS', 'FAILURE']);

    const sent = await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Relance', '--text', 'Bonjour'], env);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/Sent by smtp/);
    expect(server.received[1].parsed.subject).toBe('Relance');
    expect(server.received[1].user).toBe('alice');

    // The doctor's advice for this user on this machine.
    const doctor = await run(['doctor', '--user', 'alice', '--json'], env);
    expect(doctor.code).toBe(0);
    const verdicts = JSON.parse(doctor.stdout);
    const byId = Object.fromEntries(verdicts.lines.map((l: { id: string; verdict: string }) => [l.id, l.verdict]));
    // The store line: its mode off Windows; on Windows mode bits mean nothing, DPAPI seals the secrets.
    expect(byId).toMatchObject({ 'smtp.tcp': 'ok', 'smtp.login': 'ok', 'smtp.dsn': 'ok', store: WINDOWS ? 'info' : 'ok' });
    expect(verdicts.recommendation.choice).toBe('smtp');
    if (!WINDOWS) chmodSync(env.OXYMAIL_SETTINGS, 0o644);
    const open = await run(['doctor'], env);
    expect(open.stdout).toMatch(WINDOWS ? /^info\s+Settings store .*users\.json$/m : /^WARN\s+Settings store .* is readable by other users \(mode 644\)$/m);
    expect(open.stdout).toMatch(/^Recommendation: /m);

    // The MAPI user cannot be tested without MAPI: a clear error, exit 1.
    const mapi = await run(['settings', 'test', 'bob', ...MAPI_FAILS], env);
    expect(mapi.code).toBe(1);
    expect(mapi.stderr).toMatch(/MAPI_UNAVAILABLE/);
    // Nothing printed anywhere held the password; the file is private.
    for (const out of [set, list, human, tested, sent, mapi]) expect(out.stdout + out.stderr).not.toContain('secret\n');
  } finally {
    await server.close();
  }
});

test('show, unset, remove, export without secrets, import keeping the stored secrets', async () => {
  const dir = tempDir();
  const env = { OXYMAIL_SETTINGS: path.join(dir, 'users.json') };
  await run(
    [
      'settings',
      'set',
      'alice',
      'email=alice@example.com',
      'customize=true',
      'protocol=smtp',
      'smtp.host=mail.example.com',
      'smtp.username=alice',
      'smtp.port=587',
      '--password-stdin',
    ],
    env,
    'pw-4242',
  );
  const shown = JSON.parse((await run(['settings', 'show', 'alice', '--json'], env)).stdout);
  expect(shown.smtp).toEqual({ host: 'mail.example.com', port: 587, security: 'auto', username: 'alice', password: '********' });

  expect((await run(['settings', 'unset', 'alice', 'smtp.port'], env)).code).toBe(0);
  expect(JSON.parse((await run(['settings', 'show', 'alice', '--json'], env)).stdout).smtp.port).toBe(25);

  const exported = await run(['settings', 'export', 'alice'], env);
  expect(exported.stdout).not.toContain('pw-4242');
  const doc = JSON.parse(exported.stdout);
  expect(doc.users.alice.smtp.password).toBeUndefined();
  doc.users.alice.label = 'Alice (imported)';
  doc.users.carol = { email: 'carol@example.com' };
  const file = path.join(dir, 'import.json');
  writeFileSync(file, JSON.stringify(doc));
  expect((await run(['settings', 'import', file], env)).code).toBe(0);
  const disk = JSON.parse(readFileSync(env.OXYMAIL_SETTINGS, 'utf8'));
  expect(disk.users.alice.label).toBe('Alice (imported)');
  await expectStoredSecret(env.OXYMAIL_SETTINGS, 'alice', 'smtp.password', 'pw-4242'); // kept
  expect(Object.keys(disk.users)).toEqual(['alice', 'carol']);

  // An import with one bad user writes nothing and names the field.
  writeFileSync(file, JSON.stringify({ users: { dave: { email: 'dave@example.com' }, eve: { smtp: { port: 0 } } } }));
  const bad = await run(['settings', 'import', file], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/users\.eve\.smtp\.port/);
  expect(Object.keys(JSON.parse(readFileSync(env.OXYMAIL_SETTINGS, 'utf8')).users)).toEqual(['alice', 'carol']);

  expect((await run(['settings', 'remove', 'carol'], env)).code).toBe(0);
  const gone = await run(['settings', 'show', 'carol'], env);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/SETTINGS_NOT_FOUND/);
});

test.each([
  [['settings', 'set', 'alice', 'smtp.password=hunter2'], /use --secret-stdin smtp\.password/],
  [['settings', 'set', 'alice', 'smtp.accessToken=ya29.hunter2'], /use --secret-stdin smtp\.accessToken/],
  [
    ['settings', 'set', 'alice', '--secret-stdin', 'smtp.host'],
    /--secret-stdin takes one of smtp\.password, smtp\.accessToken, smtp\.oauth2\.clientSecret, smtp\.oauth2\.refreshToken, mapi\.password/,
  ],
  [['settings', 'set', 'alice', '--secret-stdin', 'smtp.password', '--password-stdin'], /not both/],
  [['settings', 'set', 'alice', 'smtp.prot=25'], /unknown setting 'smtp\.prot'/],
  [['settings', 'set', 'alice', 'smtp=x'], /'smtp' is a group of settings/],
  [['settings', 'set', 'alice', '__proto__.polluted=1'], /unknown setting '__proto__\.polluted'/],
  [['settings', 'set', 'alice', 'constructor.prototype.x=1'], /unknown setting/],
  [['settings', 'set', '__proto__', 'email=x@example.com'], /'__proto__' is reserved/],
  [['settings', 'set', 'constructor', 'email=x@example.com'], /'constructor' is reserved/],
  [['settings', 'remove', 'hasOwnProperty'], /'hasOwnProperty' is reserved/],
  [['settings', 'show', 'toString'], /'toString' is reserved/],
  [['settings', 'unset', 'alice', 'smtp.prot'], /unknown setting 'smtp\.prot'/],
  [['settings', 'set', 'alice', 'no-equals-sign'], /key=value/],
  [['settings', 'set', 'alice'], /nothing to set/],
  [['settings', 'show'], /missing required argument/],
  [['send', '--user', 'a', '--settings', 'f', '--to', 'b@example.com', '--subject', 's', '--text', 'x'], /either --user USER or --settings FILE/],
  [['send', '--user', '__proto__', '--to', 'b@example.com', '--subject', 's', '--text', 'x'], /reserved/],
])('usage error %j exits 2', async (args, message) => {
  const store = path.join(tempDir(), 'users.json');
  const r = await run(args, { OXYMAIL_SETTINGS: store });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain('hunter2');
  expect(existsSync(store)).toBe(false); // nothing written
});

test('an invalid value is refused with its field path (exit 1) and nothing is written', async () => {
  const env = { OXYMAIL_SETTINGS: path.join(tempDir(), 'users.json') };
  const r = await run(['settings', 'set', 'alice', 'smtp.host=mail.example.com', 'smtp.port=465', 'smtp.security=starttls'], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/INVALID_SETTINGS[\s\S]*smtp\.security/);
  expect(r.stderr).toMatch(/hint: .*465/);
  expect(JSON.parse((await run(['settings', 'list', '--json'], env)).stdout)).toEqual([]);
});

test('--help lists every command; every command and sub-command has examples', async () => {
  const top = await run(['--help'], {});
  expect(top.code).toBe(0);
  for (const c of ['send', 'verify', 'capabilities', 'settings', 'doctor', 'mapi']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  /** The sub-commands a help text lists (commander's own `help` aside). */
  const commandsOf = (help: string) =>
    (help.split(/^Commands:$/m)[1] ?? '')
      .split(/\n\n/)[0]
      .split('\n')
      .map((l) => /^  (\S+)/.exec(l)?.[1])
      .filter((c): c is string => !!c && c !== 'help');
  const seen: string[] = [];
  const walk = async (path: string[], help: string): Promise<void> => {
    expect({ command: path.join(' '), examples: /^Examples:\n  \$ oxymail /m.test(help) }).toEqual({ command: path.join(' '), examples: true });
    seen.push(path.join(' '));
    for (const sub of commandsOf(help)) {
      const r = await run([...path, sub, '--help'], {});
      expect(r.code).toBe(0);
      await walk([...path, sub], r.stdout);
    }
  };
  await walk([], top.stdout);
  expect(seen.sort()).toEqual(
    [
      '',
      'auth',
      'auth login',
      'auth logout',
      'auth status',
      'capabilities',
      'doctor',
      'mapi',
      'mapi profiles',
      'send',
      'settings',
      'settings export',
      'settings import',
      'settings list',
      'settings remove',
      'settings set',
      'settings show',
      'settings test',
      'settings unset',
      'verify',
    ].sort(),
  );
});

/** A fresh private store for one test. */
function storeEnv(): { OXYMAIL_SETTINGS: string } {
  return { OXYMAIL_SETTINGS: path.join(tempDir(), 'users.json') };
}

test('two admins running `settings set` on the SAME user at once lose no change', async () => {
  const env = storeEnv();
  expect((await run(['settings', 'set', 'dave', 'email=dave@example.com', 'label=start'], env)).code).toBe(0);
  const admin = async (args: (i: number) => string[]) => {
    for (let i = 0; i < 12; i++) {
      const r = await run(['settings', 'set', 'dave', ...args(i)], env);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  };
  await Promise.all([admin((i) => [`label=L${i}`]), admin((i) => [`defaults.importance=${i % 2 ? 'high' : 'low'}`, `email=d${i}@example.com`])]);
  const dave = JSON.parse((await run(['settings', 'show', 'dave', '--json'], env)).stdout);
  expect(dave).toMatchObject({ label: 'L11', email: 'd11@example.com', defaults: { importance: 'high' } });
}, 120_000); // 26 node launches, half of them waiting for the other's lock

describe('a stored secret that cannot be opened here ({ "dpapi": ... } on Linux)', () => {
  function blobStore() {
    const env = storeEnv();
    mkdirSync(path.dirname(env.OXYMAIL_SETTINGS), { recursive: true });
    const users = {
      a: {
        email: 'a@example.com',
        customize: true,
        protocol: 'smtp',
        smtp: { host: '127.0.0.1', port: 1, username: 'a', password: { dpapi: 'AAAA' } },
      },
      bob: { email: 'bob@example.com' },
    };
    writeFileSync(env.OXYMAIL_SETTINGS, JSON.stringify({ version: 1, users }), { mode: 0o600 });
    return env;
  }

  test('list, show, remove and doctor still work; get-based commands fail clearly; setting the secret again (the hint) repairs it', async () => {
    const env = blobStore();
    const list = await run(['settings', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)[0].settings.smtp.password).toBe('********');
    expect(JSON.parse((await run(['settings', 'show', 'a', '--json'], env)).stdout).smtp.password).toBe('********');
    expect((await run(['settings', 'remove', 'bob'], env)).code).toBe(0);

    const tested = await run(['settings', 'test', 'a'], env);
    expect(tested.code).toBe(1);
    // Off Windows no DPAPI blob opens; on Windows this one is not a blob DPAPI can open.
    expect(tested.stderr).toMatch(
      WINDOWS
        ? /error \[SECRET_UNREADABLE\]: settings: users\.a\.smtp\.password cannot be decrypted \(CryptUnprotectData\)/
        : /error \[SECRET_UNREADABLE\]: settings: users\.a\.smtp\.password is encrypted with Windows DPAPI/,
    );
    // The fix is a command that runs as is in cmd and PowerShell too: it prompts for the secret.
    expect(tested.stderr).toMatch(/^hint: .*Set it again \(it prompts for the secret\): oxymail settings set a --secret-stdin smtp\.password$/m);
    expect(tested.stderr).not.toMatch(/printf/);
    const send = await run(['send', '--user', 'a', '--to', 'b@example.com', '--subject', 's', '--text', 'x', '--json'], env);
    expect(send.code).toBe(1);
    expect(JSON.parse(send.stdout).error).toMatchObject({ code: 'SECRET_UNREADABLE', hint: expect.stringMatching(/--secret-stdin smtp\.password/) });

    // The doctor reports it as a FAIL line and goes on checking the machine (the login is not tried).
    const doctor = await run(['doctor', '--user', 'a', '--json'], env);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout);
    const byId = Object.fromEntries(report.lines.map((l: { id: string }) => [l.id, l]));
    expect(byId['settings.secret']).toMatchObject({ verdict: 'fail', title: 'smtp.password cannot be read on this machine (SECRET_UNREADABLE)' });
    expect(report.lines.some((l: { id: string }) => l.id.startsWith('mapi.'))).toBe(true); // the machine is still checked
    expect(byId['smtp.dns']).toMatchObject({ verdict: 'ok' });
    expect(byId['smtp.login']).toBeUndefined(); // port 1: nothing listens, the SMTP checks stop at TCP
    expect(report.recommendation.choice).toBe('smtp');

    const fixed = await run(['settings', 'set', 'a', '--password-stdin'], env, 'n3w-pw\n');
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    await expectStoredSecret(env.OXYMAIL_SETTINGS, 'a', 'smtp.password', 'n3w-pw');
  });
});

test('--secret-stdin sets an OAuth token (any secret) from stdin: stored, masked everywhere, never on the command line', async () => {
  const env = storeEnv();
  const token = 'ya29.A0ARrdaM-token-42';
  const set = await run(
    [
      'settings',
      'set',
      'alice',
      'email=alice@contoso.com',
      'customize=true',
      'protocol=smtp',
      'smtp.host=smtp.office365.com',
      'smtp.port=587',
      'smtp.username=alice@contoso.com',
      '--secret-stdin',
      'smtp.accessToken',
      '--json',
    ],
    env,
    `${token}\n`,
  );
  expect(set.code).toBe(0);
  expect(JSON.parse(set.stdout)).toMatchObject({ user: 'alice', settings: { smtp: { accessToken: '********' } } });
  await expectStoredSecret(env.OXYMAIL_SETTINGS, 'alice', 'smtp.accessToken', token);
  const outputs = [
    set,
    await run(['settings', 'show', 'alice'], env),
    await run(['settings', 'list', '--json'], env),
    await run(['settings', 'export', 'alice'], env),
  ];
  for (const o of outputs) expect(o.stdout + o.stderr).not.toContain(token);
  expect(outputs[1].stdout).toMatch(/^smtp\.accessToken\s+\*{8}$/m);
  // A MAPI password the same way.
  expect(
    (await run(['settings', 'set', 'bob', 'email=bob@example.com', 'customize=true', 'protocol=mapi', '--secret-stdin', 'mapi.password'], env, 'mapi-pw')).code,
  ).toBe(0);
  await expectStoredSecret(env.OXYMAIL_SETTINGS, 'bob', 'mapi.password', 'mapi-pw');
  // An empty stdin is refused: nothing is written.
  const before = readFileSync(env.OXYMAIL_SETTINGS, 'utf8');
  const empty = await run(['settings', 'set', 'bob', '--secret-stdin', 'mapi.password'], env, '');
  expect(empty.code).toBe(2);
  expect(readFileSync(env.OXYMAIL_SETTINGS, 'utf8')).toBe(before);
});

test('--json on every command; with --json an error is a JSON object on stdout (exit code unchanged)', async () => {
  const env = storeEnv();
  const json = async (args: string[], stdin?: string) => {
    const r = await run([...args, '--json'], env, stdin);
    return { code: r.code, out: JSON.parse(r.stdout), stderr: r.stderr };
  };
  expect(await json(['settings', 'set', 'carol', 'email=carol@example.com'])).toMatchObject({
    code: 0,
    out: { user: 'carol', settings: { email: 'carol@example.com' } },
  });
  expect(await json(['settings', 'unset', 'carol', 'label', 'email'])).toMatchObject({ code: 0, out: { user: 'carol', unset: ['email'], notSet: ['label'] } });
  const file = path.join(tempDir(), 'import.json');
  writeFileSync(file, JSON.stringify({ version: 1, users: { dan: { email: 'dan@example.com' } } }));
  expect(await json(['settings', 'import', file])).toMatchObject({ code: 0, out: { imported: ['dan'] } });
  expect(await json(['settings', 'export', 'dan'])).toMatchObject({ code: 0, out: { users: { dan: { email: 'dan@example.com' } } } });
  expect(await json(['settings', 'remove', 'dan'])).toMatchObject({ code: 0, out: { user: 'dan', removed: true } });

  // Failures: the error object, with its code and hint; the text stays on stderr for people.
  const missing = await json(['send', '--user', 'nobody', '--to', 'b@example.com', '--subject', 's', '--text', 'x']);
  expect(missing).toMatchObject({
    code: 1,
    out: { error: { code: 'SETTINGS_NOT_FOUND', message: expect.stringMatching(/nobody/), hint: expect.any(String) } },
  });
  expect(missing.stderr).toMatch(/error \[SETTINGS_NOT_FOUND\]/);
  expect(await json(['settings', 'remove', 'dan'])).toMatchObject({ code: 1, out: { error: { code: 'SETTINGS_NOT_FOUND' } } });
  const invalid = await json(['settings', 'set', 'carol', 'smtp.port=0']);
  expect(invalid).toMatchObject({ code: 1, out: { error: { code: 'INVALID_SETTINGS', problems: [{ path: 'smtp.port' }] } } });
  expect(await json(['settings', 'set', 'carol', 'smtp.prot=1'])).toMatchObject({
    code: 2,
    out: { error: { code: 'USAGE', message: expect.stringMatching(/unknown setting/) } },
  });
  expect(await json(['settings', 'list', '--bogus'])).toMatchObject({
    code: 2,
    out: { error: { code: 'USAGE', message: expect.stringMatching(/unknown option/) } },
  });

  // A MAPI user cannot be tested without MAPI: one JSON document with what is known and the error.
  expect((await run(['settings', 'set', 'bob', 'email=bob@example.com', 'customize=true', 'protocol=mapi'], env)).code).toBe(0);
  const mapi = await json(['settings', 'test', 'bob', ...MAPI_FAILS]);
  expect(mapi).toMatchObject({
    code: 1,
    out: {
      user: 'bob',
      protocol: 'mapi-simple',
      verify: WINDOWS ? { protocol: 'mapi', interface: 'simple' } : null,
      receipts: { read: 'supported', delivery: 'unsupported' },
      error: { code: 'MAPI_UNAVAILABLE' },
    },
  });
});

test('unset: a key that is not a setting is a usage error and nothing is written; a setting that is not set changes nothing', async () => {
  const env = storeEnv();
  await run(['settings', 'set', 'alice', 'email=alice@example.com', 'label=A'], env);
  await run(['settings', 'set', 'alice', 'label=Alice'], env);
  const snapshot = () => [
    readFileSync(env.OXYMAIL_SETTINGS, 'utf8'),
    readFileSync(`${env.OXYMAIL_SETTINGS}.bak`, 'utf8'),
    statSync(env.OXYMAIL_SETTINGS).mtimeMs,
  ];
  const before = snapshot();
  const typo = await run(['settings', 'unset', 'alice', 'smtp.prot'], env);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toMatch(/unknown setting 'smtp\.prot'/);
  const notSet = await run(['settings', 'unset', 'alice', 'smtp.tls.ca'], env);
  expect(notSet.code).toBe(0);
  expect(notSet.stdout).toMatch(/smtp\.tls\.ca was not set for alice \(nothing to remove\)/);
  expect(snapshot()).toEqual(before);
  const gone = await run(['settings', 'unset', 'nobody', 'label'], env);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/SETTINGS_NOT_FOUND/);
  expect(snapshot()).toEqual(before);
  // A group of settings can be unset as a whole.
  await run(['settings', 'set', 'alice', 'smtp.host=mail.example.com', 'smtp.port=587'], env);
  expect((await run(['settings', 'unset', 'alice', 'smtp'], env)).code).toBe(0);
  expect(JSON.parse((await run(['settings', 'show', 'alice', '--json'], env)).stdout).smtp).toBeUndefined();
});

test('unset: a setting that only holds its default (never set; `set` stores the defaults) is reported as not set, and nothing is written', async () => {
  const env = storeEnv();
  const smtp = ['email=alice@example.com', 'customize=true', 'protocol=smtp', 'smtp.host=mail.example.com'];
  expect((await run(['settings', 'set', 'alice', ...smtp], env)).code).toBe(0);
  expect((await run(['settings', 'set', 'alice', 'label=A'], env)).code).toBe(0);
  // What was stored has the defaults filled in: the file alone cannot tell them from set values.
  expect(JSON.parse(readFileSync(env.OXYMAIL_SETTINGS, 'utf8')).users.alice.smtp).toMatchObject({ port: 25, security: 'auto' });
  const snapshot = () => [
    readFileSync(env.OXYMAIL_SETTINGS, 'utf8'),
    readFileSync(`${env.OXYMAIL_SETTINGS}.bak`, 'utf8'),
    statSync(env.OXYMAIL_SETTINGS).mtimeMs,
  ];
  const before = snapshot();

  const words = await run(['settings', 'unset', 'alice', 'smtp.port', 'smtp.security'], env);
  expect(words.code).toBe(0);
  expect(words.stdout).not.toMatch(/unset alice/);
  expect(words.stdout).toMatch(/^note: smtp\.port holds its default value for alice \(nothing to remove\)$/m);
  expect(words.stdout).toMatch(/^note: smtp\.security holds its default value for alice \(nothing to remove\)$/m);
  const json = await run(['settings', 'unset', 'alice', 'smtp.port', 'smtp.security', 'smtp.tls.ca', '--json'], env);
  expect(JSON.parse(json.stdout)).toEqual({ user: 'alice', unset: [], notSet: ['smtp.port', 'smtp.security', 'smtp.tls.ca'] });
  expect(snapshot()).toEqual(before);

  // A value other than the default is removed, and the default applies again.
  expect((await run(['settings', 'set', 'alice', 'smtp.port=587'], env)).code).toBe(0);
  const removed = await run(['settings', 'unset', 'alice', 'smtp.port', 'smtp.security', '--json'], env);
  expect(JSON.parse(removed.stdout)).toEqual({ user: 'alice', unset: ['smtp.port'], notSet: ['smtp.security'] });
  expect(JSON.parse(readFileSync(env.OXYMAIL_SETTINGS, 'utf8')).users.alice.smtp.port).toBe(25);
});

describe('settings test against smtp-server: what the handshake negotiated, receipts in plain words', () => {
  async function user(port: number, smtp: string[] = []) {
    const env = storeEnv();
    const r = await run(
      [
        'settings',
        'set',
        'alice',
        'email=alice@example.com',
        'customize=true',
        'protocol=smtp',
        'smtp.host=127.0.0.1',
        `smtp.port=${port}`,
        `smtp.tls.ca=${testCert().cert}`,
        ...smtp,
      ],
      env,
    );
    expect(r.stderr).toBe('');
    return env;
  }

  test('STARTTLS: the TLS version negotiated', async () => {
    const server = await startServer();
    try {
      const env = await user(server.port);
      const r = await run(['settings', 'test', 'alice'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ok TLS: TLSv1\.[23] \(STARTTLS\)$/m);
      expect(r.stdout).toMatch(/^-- read receipts: asked with a Disposition-Notification-To header; the recipient's mail client decides whether to send one$/m);
      const json = JSON.parse((await run(['settings', 'test', 'alice', '--json'], env)).stdout);
      expect(json.tls).toEqual({ negotiated: 'starttls', protocol: expect.stringMatching(/^TLSv1\.[23]$/) });
    } finally {
      await server.close();
    }
  });

  test('a server without STARTTLS and without DSN: "no TLS" as a warning, the missing DSN said once', async () => {
    const server = await startServer({ disabledCommands: ['STARTTLS'], hideDSN: true });
    try {
      const env = await user(server.port);
      const r = await run(['settings', 'test', 'alice', '--to', 'me@example.com'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^warn no TLS: the connection to 127\.0\.0\.1:\d+ is not encrypted/m);
      expect(r.stdout).not.toMatch(/ok TLS/);
      expect(r.stdout.match(/DSN/g)).toHaveLength(1);
      expect(r.stdout).toMatch(/^warn the server does not offer DSN: delivery receipts will not work/m);
      expect(r.stdout).toMatch(/^ok test message sent to me@example\.com/m);
      expect(server.received).toHaveLength(1);
      expect(server.received[0].rcptTo[0].dsn?.notify).toBeUndefined();
      expect(server.received[0].parsed.headers.get('disposition-notification-to')).toBeDefined();
      const json = JSON.parse((await run(['settings', 'test', 'alice', '--json'], env)).stdout);
      expect(json).toMatchObject({ tls: { negotiated: 'none', protocol: null }, dsnOffered: false, receipts: { delivery: 'server-has-no-dsn' } });
    } finally {
      await server.close();
    }
  });

  test('MAPI users: receipts from the capability matrix (Simple: no delivery receipt; Extended: yes), printed although MAPI is unavailable here', async () => {
    const env = storeEnv();
    await run(['settings', 'set', 'bob', 'email=bob@example.com', 'customize=true', 'protocol=mapi'], env);
    await run(['settings', 'set', 'eve', 'email=eve@example.com', 'customize=true', 'protocol=mapi', 'mapi.interface=extended'], env);
    const simple = await run(['settings', 'test', 'bob', ...MAPI_FAILS], env);
    expect(simple.code).toBe(1);
    expect(simple.stdout).toMatch(WINDOWS ? /^FAIL test message not sent: MAPI_UNAVAILABLE/m : /^FAIL mapi-simple: MAPI_UNAVAILABLE/m);
    expect(simple.stdout).toMatch(/^-- read receipts: asked through the mail client \(MAPI\)/m);
    expect(simple.stdout).not.toMatch(/Disposition-Notification-To/);
    expect(simple.stdout).toMatch(/^-- delivery receipts: not supported by mapi-simple; mapi\.interface=extended supports them$/m);
    expect(simple.stderr).toMatch(/error \[MAPI_UNAVAILABLE\]/);
    const extended = await run(['settings', 'test', 'eve', ...MAPI_FAILS], env);
    expect(extended.code).toBe(1);
    // "ok" only where verify() passed (Windows); the send that follows there is what fails.
    expect(extended.stdout).toMatch(
      new RegExp(`^${WINDOWS ? 'ok' : '--'} delivery receipts: asked through Extended MAPI; the mail server sends the report$`, 'm'),
    );
  });
});

test('settings show prints a readable table (one setting per line, secrets masked, long texts shortened)', async () => {
  const env = storeEnv();
  await run(
    [
      'settings',
      'set',
      'alice',
      'label=Alice Martin',
      'email=alice@example.com',
      'customize=true',
      'protocol=smtp',
      'smtp.host=mail.example.com',
      'smtp.username=alice',
      `smtp.tls.ca=${testCert().cert}`,
      '--password-stdin',
    ],
    env,
    'pw-9876',
  );
  const r = await run(['settings', 'show', 'alice'], env);
  expect(r.code).toBe(0);
  expect(r.stdout).not.toMatch(/^\{/);
  expect(r.stdout).toMatch(/^setting\s+value$/m);
  expect(r.stdout).toMatch(/^label\s+Alice Martin$/m);
  expect(r.stdout).toMatch(/^smtp\.port\s+25$/m);
  expect(r.stdout).toMatch(/^smtp\.password\s+\*{8}$/m);
  expect(r.stdout).toMatch(/^smtp\.tls\.ca\s+-----BEGIN CERTIFICATE----- \.\.\. \(\d+ lines\)$/m);
  expect(r.stdout).not.toContain('pw-9876');
});

/**
 * Why the prompt cannot be driven here, or undefined when it can: util-linux `script` runs a
 * command on a pseudo-terminal, and what it prints is what a person would see.
 */
function ptyUnavailable(): string | undefined {
  if (process.platform === 'win32') return 'skipped on Windows: no pseudo-terminal tool like util-linux script (the prompt code is the same)';
  if (process.platform !== 'linux') return `skipped on ${process.platform}: its script(1) is not util-linux's`;
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (!probe.error && /util-linux/.test(probe.stdout)) return undefined;
  const why = 'util-linux `script` is not installed (Debian/Ubuntu: apt-get install bsdutils)';
  test('util-linux `script` is installed (the terminal prompt tests need it)', () => {
    // It is part of every Debian system: missing under CI means a broken image, never a silent skip.
    if (process.env.CI) throw new Error(`CI must have ${why}`);
    process.stderr.write(`\n${'!'.repeat(78)}\n!! ${why}: the terminal prompt tests are SKIPPED.\n${'!'.repeat(78)}\n`);
  });
  return `skipped: ${why}`;
}
const NO_PTY = ptyUnavailable();

/** How long the prompt may take to show before the test fails with the screen so far (a hang detector, generous for a loaded machine). */
const PROMPT_TIMEOUT_MS = 60_000;

(NO_PTY ? test.skip : test).each([
  [['--password-stdin'], 'Password for zoe: '],
  [['--secret-stdin', 'smtp.password'], 'smtp.password for zoe: '],
])(
  `%j on a terminal prompts on stderr and does not echo the secret${NO_PTY ? ` (${NO_PTY})` : ''}`,
  async (flags, prompt) => {
    const env = storeEnv();
    const cmd = [
      process.execPath,
      BIN,
      'settings',
      'set',
      'zoe',
      'email=zoe@example.com',
      'customize=true',
      'protocol=smtp',
      'smtp.host=h.example.com',
      'smtp.username=zoe',
      ...flags,
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...BASE_ENV, ...env } });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => screen.includes(prompt) && resolve());
        exited.then((code) => reject(new Error(`exited (${code}) before the prompt; the screen:\n${screen}`)), reject);
        timer = setTimeout(() => reject(new Error(`no prompt after ${PROMPT_TIMEOUT_MS} ms; the screen:\n${screen}`)), PROMPT_TIMEOUT_MS);
      });
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    child.stdin.write('tty-Secret-77\r');
    const code = await exited;
    child.stdin.end();
    expect(code).toBe(0);
    expect(screen).toMatch(/saved.* zoe/);
    expect(screen).not.toContain('tty-Secret-77');
    expect(JSON.parse(readFileSync(env.OXYMAIL_SETTINGS, 'utf8')).users.zoe.smtp.password).toBe('tty-Secret-77');
  },
  120_000,
);
