/**
 * The local outbox: with no settings at all, the CLI composes the message exactly as SMTP would
 * and writes it as an RFC 5322 `.eml` file, so the main command always does something real.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { SendMailOptions } from 'nodemailer';
import { MailError } from '../errors';
import { text } from '../i18n';
import { nodemailer } from '../lazy';

/** The per-user outbox folder: %LOCALAPPDATA%\oxymail\outbox, or $XDG_DATA_HOME/oxymail/outbox. */
export function defaultOutboxDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') {
    return path.win32.join(env.LOCALAPPDATA ?? path.win32.join(os.homedir(), 'AppData', 'Local'), 'oxymail', 'outbox');
  }
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'oxymail', 'outbox');
}

/** Writes the composed message into `dir`; attachments are streamed into the file. */
export async function writeToOutbox(mail: SendMailOptions, dir: string): Promise<{ path: string; messageId: string }> {
  const transport = nodemailer().createTransport({ streamTransport: true, newline: 'windows' });
  let file = '';
  try {
    await fs.mkdir(dir, { recursive: true });
    const info = await transport.sendMail(mail);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const id = info.messageId.replace(/[^A-Za-z0-9]+/g, '').slice(0, 24);
    file = path.join(dir, `${stamp}-${id}.eml`);
    await pipeline(info.message as Readable, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    return { path: file, messageId: info.messageId };
  } catch (err) {
    if (file) await fs.rm(file, { force: true });
    throw new MailError('OUTBOX_WRITE', text('OUTBOX_WRITE', { dir, error: (err as Error).message }), {
      cause: err,
      hint: text('OUTBOX_WRITE.hint'),
    });
  }
}
