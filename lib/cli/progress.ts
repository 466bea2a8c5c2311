/**
 * The progress bar of a long send: the bytes of its attachments read into the message as it goes
 * out (nodemailer streams them, so what is read is what is being sent), drawn on one line of
 * stderr. Only on a terminal and without --json: the caller decides.
 */
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline, Transform } from 'node:stream';
import type { MailMessage } from '../message';
import { t } from './output';

const WIDTH = 30;
const mb = (n: number) => (n / 1e6).toFixed(1);

/** One line redrawn in place (at most every 100 ms), cleared when the send ends. */
export class ProgressBar {
  private sent = 0;
  private drawn = 0;
  private last = '';

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream,
  ) {}

  add(bytes: number): void {
    this.sent += bytes;
    const now = Date.now();
    if (now - this.drawn >= 100 || this.sent >= this.total) {
      this.drawn = now;
      this.draw();
    }
  }

  private draw(): void {
    const ratio = this.total ? Math.min(1, this.sent / this.total) : 1;
    const full = Math.round(ratio * WIDTH);
    const line = t('cli.progress.attachments', {
      bar: `[${'#'.repeat(full)}${'-'.repeat(WIDTH - full)}]`,
      percent: String(Math.floor(ratio * 100)).padStart(3),
      sent: mb(this.sent),
      total: mb(this.total),
    });
    if (line === this.last) return;
    this.last = line;
    this.out.write(`\r${line}`);
  }

  /** Ends the line (the bar stays, as a record of what was sent). */
  finish(): void {
    if (this.last) this.out.write('\n');
  }
}

/**
 * Replaces the message's file attachments by streams of the same files that count their bytes into
 * a bar, and returns the bar; undefined (the message untouched) when there is nothing to show, or a
 * file cannot be read: the send then reports it as usual (ATTACHMENT_NOT_FOUND).
 */
export async function countedAttachments(message: MailMessage, out: NodeJS.WriteStream): Promise<ProgressBar | undefined> {
  const files = message.attachments?.filter((a) => a.path !== undefined) ?? [];
  if (!files.length) return undefined;
  let sizes: number[];
  try {
    sizes = await Promise.all(files.map(async (a) => (await fs.stat(a.path as string)).size));
  } catch {
    return undefined;
  }
  const bar = new ProgressBar(
    sizes.reduce((a, b) => a + b, 0),
    out,
  );
  message.attachments = message.attachments?.map((a) => {
    if (a.path === undefined) return a;
    // Counted as nodemailer pulls them (a 'data' listener would set the file flowing on its own).
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bar.add(chunk.length);
        done(null, chunk);
      },
    });
    pipeline(createReadStream(a.path), counted, () => undefined);
    return { content: counted, filename: a.filename ?? path.basename(a.path), contentType: a.contentType };
  });
  return bar;
}
