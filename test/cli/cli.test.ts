/**
 * The real `oxymail` binary, run as a child process.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { startServer, smtpSettings } from '../helpers/server';
import { tempDir, writeFixture } from '../helpers/fixtures';
import { defaultOutboxFrom } from '../../lib/cli/main';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('no settings: the message is composed and written to the outbox as an .eml, and the output says nothing was sent', async () => {
  const dir = tempDir();
  const outbox = path.join(dir, 'outbox');
  const att = writeFixture(dir, 'relevé.csv', 'a;b\n1;2\n');
  const r = await run([
    'send',
    '--to',
    'bob@example.com',
    '--cc',
    'zoe@example.com',
    '--subject',
    'Relevé de compte',
    '--text',
    'Bonjour',
    '--attach',
    att,
    '--importance',
    'high',
    '--outbox',
    outbox,
    '--from',
    'me@example.com',
  ]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/nothing was sent/);
  const files = readdirSync(outbox);
  expect(files).toHaveLength(1);
  expect(r.stdout).toContain(path.join(outbox, files[0]));
  const raw = readFileSync(path.join(outbox, files[0]));
  const m = await simpleParser(raw);
  expect(m.subject).toBe('Relevé de compte');
  expect(m.from?.value[0].address).toBe('me@example.com');
  expect(m.cc && !Array.isArray(m.cc) ? m.cc.value[0].address : undefined).toBe('zoe@example.com');
  expect(m.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['relevé.csv', 'a;b\n1;2\n']]);
  expect(raw.toString()).toMatch(/^Importance: high\r$/m);
});

test('--json prints a parseable result', async () => {
  const outbox = path.join(tempDir(), 'o');
  const r = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--outbox', outbox, '--json']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.sent).toBe(false);
  expect(readdirSync(outbox)).toEqual([path.basename(out.outbox)]);
});

test('with --settings the message goes to the SMTP server', async () => {
  const server = await startServer();
  try {
    const dir = tempDir();
    const file = path.join(dir, 'alice.json');
    writeFileSync(file, JSON.stringify(smtpSettings(server.port, { username: 'alice', password: 'secret' })));
    const r = await run(['send', '--settings', file, '--to', 'bob@example.com', '--subject', 'Bonjour', '--text', 'x', '--read-receipt', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ protocol: 'smtp', accepted: ['bob@example.com'], receipts: { read: 'requested' } });
    expect(server.received[0].parsed.subject).toBe('Bonjour');
    expect(server.received[0].user).toBe('alice');
  } finally {
    await server.close();
  }
});

test('verify with a wrong password: exit 1, SMTP_AUTH, and the password is never printed', async () => {
  const server = await startServer();
  try {
    const file = path.join(tempDir(), 'alice.json');
    writeFileSync(file, JSON.stringify(smtpSettings(server.port, { username: 'alice', password: 'Wr0ng-Pa55' })));
    const r = await run(['verify', '--settings', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error \[SMTP_AUTH\]/);
    expect(r.stdout + r.stderr).not.toContain('Wr0ng-Pa55');
  } finally {
    await server.close();
  }
});

test('a malformed settings file: exit 1, the line and column, and no text from the file (a password) is echoed', async () => {
  const file = path.join(tempDir(), 'broken.json');
  writeFileSync(file, '{\n  "customize": true,\n  "smtp": { "password": TopSecret99 }\n}');
  for (const args of [
    ['send', '--settings', file, '--to', 'bob@example.com', '--subject', 's', '--text', 'x'],
    ['verify', '--settings', file],
  ]) {
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/INVALID_SETTINGS[\s\S]*line 3, column 25/);
    expect(r.stdout + r.stderr).not.toMatch(/TopSecret/);
  }
});

test.each([
  [['send', '--subject', 's', '--text', 'x'], /required option '--to/],
  [['send', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--text-file', 'f'], /either --text or --text-file/],
  [['send', '--to', 'bob@example.com', '--subject', 's', '--importance', 'urgent'], /Allowed choices/],
  [['frobnicate'], /unknown command/],
])('usage error %j exits 2', async (args, message) => {
  const r = await run(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
});

test('an invalid address exits 1 with the code and writes nothing', async () => {
  const outbox = path.join(tempDir(), 'o');
  const r = await run(['send', '--to', 'bob@', '--subject', 's', '--text', 'x', '--outbox', outbox]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/error \[INVALID_ADDRESS\]/);
  expect(() => readdirSync(outbox)).toThrow();
});

test.each(['--text-file', '--html-file'])('%s naming a missing file exits 1 with INVALID_MESSAGE and writes nothing', async (flag) => {
  const outbox = path.join(tempDir(), 'o');
  const r = await run(['send', '--to', 'bob@example.com', '--subject', 's', flag, '/nonexistent/body.txt', '--outbox', outbox, '--json']);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining(`${flag} /nonexistent/body.txt`) });
  expect(() => readdirSync(outbox)).toThrow();
});

test('capabilities --json is the matrix', async () => {
  const r = await run(['capabilities', '--json']);
  expect(r.code).toBe(0);
  const m = JSON.parse(r.stdout);
  expect(m['mapi-simple'].dialog.supported).toBe(true);
  expect(m.smtp.deliveryReceipt.supported).toBe(true);
  const one = await run(['capabilities', '--protocol', 'managed']);
  expect(one.stdout).toMatch(/^bulk\s+no\s*$/m);
});

test('--from is checked like any address: CR/LF or an invalid address exits 1 with INVALID_ADDRESS and nothing is written', async () => {
  for (const from of ['me@x.example\r\nBcc: evil@x.example', 'me@x.example\nBcc: evil@x.example', 'not an address']) {
    const outbox = path.join(tempDir(), 'o');
    const r = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--outbox', outbox, '--from', from, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error \[INVALID_ADDRESS\]: send \(outbox\): --from: /);
    expect(JSON.parse(r.stdout).error.code).toBe('INVALID_ADDRESS');
    expect(() => readdirSync(outbox)).toThrow();
  }
  // With settings, the sender is the user's: --from is refused rather than ignored.
  const r = await run(['send', '--settings', 'x.json', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--from', 'me@example.com']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--from is for outbox messages only/);
});

test('the default outbox From is user@hostname when valid, else a placeholder in .invalid', () => {
  expect(defaultOutboxFrom('alice', 'pc-12.corp.example')).toBe('alice@pc-12.corp.example');
  expect(defaultOutboxFrom('alice', 'PC_12')).toBe('alice@localhost.invalid');
  expect(defaultOutboxFrom('alice', 'pc\r\nBcc: x')).toBe('alice@localhost.invalid');
  expect(defaultOutboxFrom('Alice Martin', 'pc-12.corp.example')).toBe('oxymail@localhost.invalid');
  expect(defaultOutboxFrom('alice', 'localhost')).toBe('alice@localhost.invalid');
});

test('send without a body is a usage error (exit 2); --text, --text-file or --html-file is enough', async () => {
  const r = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--outbox', path.join(tempDir(), 'o')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/the message needs a body: --text TEXT, --text-file FILE or --html-file FILE/);
  const dir = tempDir();
  const html = writeFixture(dir, 'b.html', '<p>Bonjour</p>');
  const ok = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--html-file', html, '--outbox', path.join(dir, 'o'), '--json']);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout).sent).toBe(false);
});

test('every send flag reaches the SMTP server: Bcc in the envelope only, DSN, text and HTML files, attachment, importance, read receipt, --protocol', async () => {
  const server = await startServer();
  try {
    const dir = tempDir();
    const file = path.join(dir, 'alice.json');
    // The user's settings choose MAPI; --protocol smtp switches this one send to their SMTP server.
    writeFileSync(
      file,
      JSON.stringify(smtpSettings(server.port, { username: 'alice', password: 'secret' }, { protocol: 'mapi', mapi: { profile: 'Outlook' } })),
    );
    const text = writeFixture(dir, 'body.txt', 'Bonjour,\nla facture est jointe.\n');
    const html = writeFixture(dir, 'body.html', '<p>Bonjour,</p><p>la facture est <b>jointe</b>.</p>');
    const att = writeFixture(dir, 'facture.pdf', '%PDF-1.4 facture');
    const r = await run([
      'send',
      '--settings',
      file,
      '--protocol',
      'smtp',
      '--to',
      'bob@example.com',
      '--cc',
      'carol@example.com',
      '--bcc',
      'dave@example.com',
      '--bcc',
      'erin@example.com',
      '--subject',
      'Facture n° 12',
      '--text-file',
      text,
      '--html-file',
      html,
      '--attach',
      att,
      '--importance',
      'high',
      '--read-receipt',
      '--delivery-receipt',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      protocol: 'smtp',
      accepted: ['bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com'],
      receipts: { read: 'requested', delivery: 'requested' },
    });
    expect(server.received).toHaveLength(1);
    const got = server.received[0];
    expect(got.user).toBe('alice');
    expect(got.mailFrom).toBe('alice@example.com');
    expect(got.rcptTo.map((t) => t.address)).toEqual(['bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com']);
    for (const rcpt of got.rcptTo) expect(rcpt.dsn?.notify).toEqual(['SUCCESS', 'FAILURE']);
    const m = got.parsed;
    expect(m.subject).toBe('Facture n° 12');
    expect(m.text).toBe('Bonjour,\nla facture est jointe.\n');
    expect(m.html).toBe('<p>Bonjour,</p><p>la facture est <b>jointe</b>.</p>');
    expect(m.cc && !Array.isArray(m.cc) ? m.cc.value.map((a) => a.address) : undefined).toEqual(['carol@example.com']);
    expect(m.bcc).toBeUndefined();
    expect(got.raw.toString()).not.toMatch(/dave@example\.com|erin@example\.com/);
    expect(m.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['facture.pdf', '%PDF-1.4 facture']]);
    const raw = got.raw.toString();
    expect(raw).toMatch(/^Importance: high\r$/m);
    expect(raw).toMatch(/^X-Priority: 2 \(High\)\r$/m);
    expect(raw).toMatch(/^Disposition-Notification-To: <alice@example\.com>\r$/m);
  } finally {
    await server.close();
  }
});
