/**
 * Output for people and for scripts: tables and colours on a terminal, plain text otherwise,
 * JSON with --json. Progress goes to stderr so stdout stays parseable.
 */
import { CommanderError } from 'commander';
import { asMailError, MailError } from '../errors';
import { MessageKey, Params, translator } from '../i18n';

/** A CLI line in the process default locale (OXYMAIL_LANG, LANG..., or --lang), read when it is printed. */
export const t = (key: MessageKey, params?: Params): string => translator()(key, params);

const useColor = () => !!process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);

export const green = paint(32);
export const yellow = paint(33);
export const red = paint(31);
export const bold = paint(1);

/** Our own colour codes: the only escape sequences print() lets through. */
const OWN_SGR = /\x1b\[(?:0|1|31|32|33)m/y;

/**
 * Text safe for a terminal: control characters (ESC, BEL, backspace, C1...), bidi overrides and
 * other invisible characters are shown as escapes (`\x1b`, `\u202e`) instead of acting, so a
 * stored label such as `\e[2J\e]0;pwned\a` cannot clear the screen or retitle the window.
 * Newlines and tabs are kept unless `keepLines` is false; `keepOwnColours` keeps our colour codes.
 */
export function escapeControls(text: string, keepLines = true, keepOwnColours = false): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (keepOwnColours && ch === '\x1b') {
      OWN_SGR.lastIndex = i;
      const m = OWN_SGR.exec(text);
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    if (keepLines && (ch === '\n' || ch === '\t')) out += ch;
    else if (/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/.test(ch)) {
      const code = ch.charCodeAt(0);
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}

/** A usage error: exit code 2, the message on stderr. */
export const usage = (message: string) => new CommanderError(2, 'oxymail.usage', message);

/** Prints `data` as JSON with --json, else the human text. */
export function print(json: boolean | undefined, data: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${escapeControls(human, true, true)}\n`);
}

/** An error as --json prints it: `{ error: { code, message, hint?, problems? } }`. Never holds a secret (MailErrors do not). */
export function errorJson(err: unknown): { error: { code: string; message: string; hint?: string; problems?: unknown[] } } {
  if (err instanceof MailError) {
    return { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...(err.problems ? { problems: err.problems } : {}) } };
  }
  if (err instanceof CommanderError) {
    // Commander's own errors carry their `error: ` prefix (in the CLI's language): JSON has the message only.
    const prefix = t('cli.error', { message: '' });
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message.replace(/^error: /, '');
    return { error: { code: 'USAGE', message } };
  }
  return errorJson(asMailError(err));
}

/** An error for people, on stderr: `error [CODE]: message` and its hint. */
export function writeErrorText(err: unknown): void {
  const e = asMailError(err);
  if (err instanceof CommanderError) process.stderr.write(`${t('cli.error', { message: escapeControls(err.message) })}\n`);
  else {
    const hint = e.hint ? `${t('cli.hint', { hint: escapeControls(e.hint) })}\n` : '';
    process.stderr.write(`${t('cli.errorCode', { code: e.code, message: escapeControls(e.message) })}\n${hint}`);
  }
}

/** A plain-text table: the first row is the header. */
export function table(rows: string[][]): string {
  rows = rows.map((r) => r.map((cell) => escapeControls(cell ?? '', false)));
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
        if (ch === '\u0003') return finish(usage(t('cli.usage.cancelled')));
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015')
          chars = []; // Ctrl-U, as a terminal would
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
