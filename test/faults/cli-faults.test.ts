/**
 * The CLI under bad input, as a child process: a FIFO given as --text-file is refused (not a hang),
 * control characters never reach the terminal raw, and every failure has a code in --json.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { escapeControls } from '../../lib/cli/output';
import { tempDir } from '../helpers/fixtures';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const posix = process.platform !== 'win32';

(posix ? test : test.skip)('--text-file naming a FIFO is refused at once with INVALID_MESSAGE (opening it would block forever)', async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'body.fifo');
  execFileSync('mkfifo', [fifo]);
  const r = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--text-file', fifo, '--outbox', path.join(dir, 'out'), '--json']);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining('not a regular file') });
});

test('a label with terminal escapes is refused, and the error shows them escaped, never raw', async () => {
  const store = path.join(tempDir(), 'users.json');
  const r = await run(['settings', 'set', 'u', 'email=u@example.com', 'label=\u001b[2J\u001b[31mADMIN\u001b]0;pwned\u0007'], { OXYMAIL_SETTINGS: store });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/INVALID_SETTINGS/);
  expect(r.stderr + r.stdout).not.toMatch(/[\u001b\u0007]/);
  // A value the error quotes (an address) is shown escaped.
  const e = await run(['settings', 'set', 'u', 'email=a\u001b[2J@example.com'], { OXYMAIL_SETTINGS: store });
  expect(e.code).toBe(1);
  expect(e.stderr).toMatch(/email: .*a\\u001b\[2J@example\.com/);
  expect(e.stderr).not.toMatch(/\u001b/);
});

test.each([['u\u202eevil'], ['u\u0085x'], ['a\u200bb'], [' lead'], ['x\u0007']])(
  'the user id %j is refused (a safe character set), with a code in --json',
  async (id) => {
    const store = path.join(tempDir(), 'users.json');
    const r = await run(['settings', 'set', id, 'email=u@example.com', '--json'], { OXYMAIL_SETTINGS: store });
    expect(r.code).not.toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).not.toBe('ERROR');
    expect(r.stdout + r.stderr).not.toMatch(/[\u0007\u0085\u200b\u202e]/);
  },
);

test('escapeControls shows ESC, BEL, C1, bidi and zero-width characters as escapes and keeps text and newlines', () => {
  expect(escapeControls('a\u001b[2Jb\u0007c\u0085d\u202ee\u200bf\nZoé')).toBe('a\\x1b[2Jb\\x07c\\x85d\\u202ee\\u200bf\nZoé');
  expect(escapeControls('x\ny', false)).toBe('x\\x0ay');
  // Our own colours pass when asked, anything else stays escaped.
  expect(escapeControls('\u001b[32mok\u001b[0m \u001b]0;t\u0007', true, true)).toBe('\u001b[32mok\u001b[0m \\x1b]0;t\\x07');
});
