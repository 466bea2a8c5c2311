/**
 * Output for people and for scripts: tables and colours on a terminal, plain text otherwise,
 * JSON with --json. Progress goes to stderr so stdout stays parseable.
 */
import { CommanderError } from 'commander';
import { MailError } from '../errors';

const useColor = () => !!process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);

export const green = paint(32);
export const yellow = paint(33);
export const red = paint(31);
export const bold = paint(1);

/** A usage error: exit code 2, the message on stderr. */
export const usage = (message: string) => new CommanderError(2, 'oxymail.usage', message);

/** Prints `data` as JSON with --json, else the human text. */
export function print(json: boolean | undefined, data: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
}

/** An error as --json prints it: `{ error: { code, message, hint?, problems? } }`. Never holds a secret (MailErrors do not). */
export function errorJson(err: unknown): { error: { code: string; message: string; hint?: string; problems?: unknown[] } } {
  if (err instanceof MailError) {
    return { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...(err.problems ? { problems: err.problems } : {}) } };
  }
  if (err instanceof CommanderError) return { error: { code: 'USAGE', message: err.message.replace(/^error: /, '') } };
  const code = (err as NodeJS.ErrnoException)?.code;
  return { error: { code: typeof code === 'string' ? code : 'ERROR', message: (err as Error)?.message ?? String(err) } };
}

/** An error for people, on stderr: `error [CODE]: message` and its hint. */
export function writeErrorText(err: unknown): void {
  if (err instanceof MailError) process.stderr.write(`error [${err.code}]: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  else process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
}

/** A plain-text table: the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, n) => {
      const line = r
        .map((cell, i) => (cell ?? '').padEnd(widths[i]))
        .join('  ')
        .trimEnd();
      return n === 0 ? bold(line) : line;
    })
    .join('\n');
}

/** A progress line on stderr, only on a terminal. */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
}

/** Reads all of stdin as UTF-8 text, as is (a body or a settings file piped in). */
export async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads all of stdin (a pipe), without the final newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * Reads a secret for --password-stdin / --secret-stdin: from a pipe as is; on a terminal, after a
 * prompt on stderr, with echo off (raw mode), so it shows neither on screen nor in the history.
 */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return readStdin();
  // Echo off before the prompt shows: what is typed (or pasted) after seeing it never reaches the screen.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (err?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(usage('cancelled: nothing was written'));
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015')
          chars = []; // Ctrl-U, as a terminal would
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
