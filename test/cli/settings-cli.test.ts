/**
 * `oxymail settings ...` and `send --user`, the real binary as a child process, on a private store.
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startServer, testCert } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
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
    expect(report.verify).toMatchObject({ authenticatedAs: 'alice', tls: 'starttls-when-offered' });
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
    expect(byId).toMatchObject({ 'smtp.tcp': 'ok', 'smtp.login': 'ok', 'smtp.dsn': 'ok', store: 'ok' });
    expect(verdicts.recommendation.choice).toBe('smtp');
    chmodSync(env.OXYMAIL_SETTINGS, 0o644);
    const open = await run(['doctor'], env);
    expect(open.stdout).toMatch(/^WARN\s+Settings store .* is readable by other users \(mode 644\)$/m);
    expect(open.stdout).toMatch(/^Recommendation: /m);

    // The MAPI user cannot be tested on Linux: a clear error, exit 1.
    const mapi = await run(['settings', 'test', 'bob'], env);
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
  expect(disk.users.alice.smtp.password).toBe('pw-4242'); // kept
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
  [['settings', 'set', 'alice', 'smtp.password=hunter2'], /--password-stdin/],
  [['settings', 'set', 'alice', 'no-equals-sign'], /key=value/],
  [['settings', 'set', 'alice'], /nothing to set/],
  [['settings', 'show'], /missing required argument/],
  [['send', '--user', 'a', '--settings', 'f', '--to', 'b@example.com', '--subject', 's'], /either --settings FILE or --user USER/],
])('usage error %j exits 2', async (args, message) => {
  const r = await run(args, { OXYMAIL_SETTINGS: path.join(tempDir(), 'users.json') });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain('hunter2');
});

test('an invalid value is refused with its field path (exit 1) and nothing is written', async () => {
  const env = { OXYMAIL_SETTINGS: path.join(tempDir(), 'users.json') };
  const r = await run(['settings', 'set', 'alice', 'smtp.host=mail.example.com', 'smtp.port=465', 'smtp.security=starttls'], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/INVALID_SETTINGS[\s\S]*smtp\.security/);
  expect(r.stderr).toMatch(/hint: .*465/);
  expect(JSON.parse((await run(['settings', 'list', '--json'], env)).stdout)).toEqual([]);
});

test('--help lists every command, and each command has examples', async () => {
  const top = await run(['--help'], {});
  expect(top.code).toBe(0);
  for (const c of ['send', 'verify', 'capabilities', 'settings', 'doctor', 'mapi']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  for (const c of ['send', 'verify', 'capabilities', 'settings', 'doctor']) expect((await run([c, '--help'], {})).stdout).toMatch(/Examples?:/);
  expect((await run(['mapi', 'profiles', '--help'], {})).stdout).toMatch(/Example:/);
});
