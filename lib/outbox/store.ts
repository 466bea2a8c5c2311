/**
 * The outbox on disk, Maildir-style: each entry is a folder holding the exact message bytes
 * (`message.eml`) and its envelope, state and attempt history (`entry.json`). An entry is written
 * whole under `tmp/`, fsynced, and renamed into `entries/` in one step, so a kill -9 at any point
 * leaves either no entry or a whole one. `entry.json` is rewritten the same way (temp, fsync,
 * rename). A finished entry is renamed into `trash/` before it is deleted, so a half-deleted
 * folder is never mistaken for an entry. One process at a time works on an entry: a lock file
 * next to its `entry.json` (lib/store/lock.ts, which takes over the lock of a dead process).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MailError } from '../errors';
import { text, Text } from '../i18n';
import { EMPTY_LOCK_STALE_MS, withLock } from '../store/lock';
import type { ComposedMessage, DsnParams } from '../transports/transport';
import { forget, readText, remember, storable, textOf } from './shown';

/** Where an entry stands. */
export type EntryState = 'queued' | 'sending' | 'held' | 'failed' | 'sent';

/** One try, as it is kept in the entry's history. */
export interface Attempt {
  at: string;
  /** sent, partial (some recipients deferred), transient, permanent, unknown; copied / copy-failed for the copy in Sent. */
  outcome: 'sent' | 'partial' | 'transient' | 'permanent' | 'unknown' | 'copied' | 'copy-failed' | 'released';
  code?: string;
  responseCode?: number;
  message?: string;
  accepted?: string[];
  deferred?: string[];
  rejected?: string[];
}

/** An entry's metadata (entry.json). */
export interface OutboxEntry {
  version: 1;
  id: string;
  state: EntryState;
  /** The route it goes by: the same protocol and envelope sender as the mailer that flushes it. */
  protocol: 'smtp' | 'managed';
  messageId: string;
  /** The recipients still to be sent to (a partial 4xx keeps only those). */
  envelope: { from: string; to: string[] };
  dsn?: DsnParams;
  size: number;
  subject?: string;
  /** The first try (the age limit counts from here). */
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  attempts: Attempt[];
  /** Why it is held or failed, for a person (its catalog Text is stored beside it: any reader shows it in its own language). */
  reason?: string;
  /** 'pending': the message went out and its copy in Sent is still to be made; 'done': made (or kept by another entry). */
  sentCopy?: 'pending' | 'done';
  /** The process sending it (state 'sending'). */
  pid?: number;
}

/** A finished or removed entry. */
export class EntryGone extends Error {}

const ID = /^[a-z0-9]+-[0-9a-f]{6}$/;
const STALE_TMP_MS = 24 * 3_600_000;

/** A new entry id: sortable by time, short enough to type. */
export function newEntryId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

async function fsyncFile(file: string): Promise<void> {
  const h = await fs.open(file, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** fsync of a folder makes a rename in it durable; Windows cannot open folders so: best effort. */
async function fsyncDir(dir: string): Promise<void> {
  let h;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch {
    // EISDIR / EPERM on Windows: NTFS journals the rename itself.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

async function writeJsonDurably(file: string, data: unknown): Promise<void> {
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, JSON.stringify(data, null, 2), { mode: 0o600, flag: 'wx' });
    await fsyncFile(temp);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

function writeError(dir: string, err: unknown): MailError {
  return new MailError('OUTBOX_WRITE', text('OUTBOX_WRITE.outbox', { dir, error: (err as Error)?.message ?? String(err) }), {
    cause: err,
    hint: text('OUTBOX_WRITE.hint.outbox'),
  });
}

/** Sets (or, with undefined, removes) why an entry is held or failed, for a person. */
export function setReason(entry: OutboxEntry, reason: Text | string | undefined): void {
  if (reason === undefined) {
    delete entry.reason;
    forget(entry);
  } else entry.reason = remember(entry, reason);
}

/** An attempt of the history, its message (a catalog Text or the server's words) shown in the default locale. */
export function newAttempt(fields: Omit<Attempt, 'message'>, message?: Text | string): Attempt {
  const a: Attempt = { ...fields };
  if (message !== undefined && message !== '') a.message = remember(a, message);
  return a;
}

/** entry.json: the entry, with the Texts behind its reason and attempt messages beside the strings. */
function toDisk(entry: OutboxEntry): object {
  const reason = textOf(entry);
  return {
    ...entry,
    ...(reason && entry.reason !== undefined ? { reasonText: storable(reason) } : {}),
    attempts: entry.attempts.map((a) => {
      const t = textOf(a);
      return t && a.message !== undefined ? { ...a, messageText: storable(t) } : a;
    }),
  };
}

/** An entry read from entry.json: strings shown in the default locale from their stored Texts when this version knows them. */
function fromDisk(data: OutboxEntry & { reasonText?: unknown }): OutboxEntry {
  const { reasonText, ...entry } = data;
  const reason = readText(reasonText);
  if (reason && entry.reason !== undefined) entry.reason = remember(entry, reason);
  entry.attempts = (Array.isArray(entry.attempts) ? entry.attempts : []).map((stored) => {
    const { messageText, ...a } = stored as Attempt & { messageText?: unknown };
    const t = readText(messageText);
    if (t && a.message !== undefined) a.message = remember(a, t);
    return a;
  });
  return entry;
}

/** The files of one outbox folder. */
export class OutboxStore {
  readonly tmp: string;
  readonly entries: string;
  readonly trash: string;

  constructor(readonly dir: string) {
    this.tmp = path.join(dir, 'tmp');
    this.entries = path.join(dir, 'entries');
    this.trash = path.join(dir, 'trash');
  }

  async ensure(): Promise<void> {
    try {
      for (const d of [this.tmp, this.entries, this.trash]) await fs.mkdir(d, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw writeError(this.dir, err);
    }
  }

  entryDir(id: string): string {
    return path.join(this.entries, id);
  }

  messagePath(id: string): string {
    return path.join(this.entryDir(id), 'message.eml');
  }

  private jsonPath(id: string): string {
    return path.join(this.entryDir(id), 'entry.json');
  }

  /**
   * Stores a composed message as a new entry. A message composed into this outbox's tmp folder
   * (attachments streamed into a file there) is taken over by a rename; any other is copied.
   */
  async add(
    composed: ComposedMessage,
    given: Omit<OutboxEntry, 'version' | 'id' | 'messageId' | 'size' | 'dsn' | 'updatedAt' | 'reason'> & { reason?: Text | string },
  ): Promise<OutboxEntry> {
    await this.ensure();
    const id = newEntryId();
    const { reason, ...meta } = given;
    const entry: OutboxEntry = {
      version: 1,
      id,
      messageId: composed.messageId,
      size: composed.size,
      ...(composed.dsn ? { dsn: composed.dsn } : {}),
      ...meta,
      updatedAt: new Date().toISOString(),
    };
    if (reason !== undefined) setReason(entry, reason);
    const inTmp = composed.path !== undefined && path.dirname(path.dirname(composed.path)) === this.tmp && path.basename(composed.path) === 'message.eml';
    const work = inTmp ? path.dirname(composed.path as string) : path.join(this.tmp, id);
    try {
      if (inTmp) {
        await fsyncFile(composed.path as string);
      } else {
        await fs.mkdir(work, { mode: 0o700 });
        const file = path.join(work, 'message.eml');
        await pipeline(
          composed.buffer ? Readable.from([composed.buffer]) : createReadStream(composed.path as string),
          createWriteStream(file, { flags: 'wx', mode: 0o600 }),
        );
        await fsyncFile(file);
      }
      await writeJsonDurably(path.join(work, 'entry.json'), toDisk(entry));
      await fs.rename(work, this.entryDir(id));
      await fsyncDir(this.entries);
    } catch (err) {
      if (!inTmp) await fs.rm(work, { recursive: true, force: true }).catch(() => undefined);
      throw writeError(this.dir, err);
    }
    return entry;
  }

  /** Every entry, oldest first (an unreadable entry.json is skipped: it cannot be a whole entry). */
  async list(): Promise<OutboxEntry[]> {
    let ids: string[];
    try {
      ids = (await fs.readdir(this.entries)).filter((n) => ID.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries = await Promise.all(ids.map((id) => this.read(id)));
    return entries.filter((e): e is OutboxEntry => e !== undefined);
  }

  async read(id: string): Promise<OutboxEntry | undefined> {
    try {
      const entry = JSON.parse(await fs.readFile(this.jsonPath(id), 'utf8')) as OutboxEntry;
      return entry && entry.version === 1 && entry.id === id ? fromDisk(entry) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Rewrites an entry's metadata (durably). */
  async write(entry: OutboxEntry): Promise<OutboxEntry> {
    entry.updatedAt = new Date().toISOString();
    try {
      await writeJsonDurably(this.jsonPath(entry.id), toDisk(entry));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new EntryGone(entry.id);
      throw writeError(this.dir, err);
    }
    return entry;
  }

  /** Removes an entry: renamed out of entries/ first (one atomic step), then deleted. */
  async finish(id: string): Promise<void> {
    const away = path.join(this.trash, `${id}.${randomBytes(3).toString('hex')}`);
    try {
      await fs.rename(this.entryDir(id), away);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw writeError(this.dir, err);
    }
    await fsyncDir(this.entries);
    await fs.rm(away, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }

  /**
   * Runs `work` holding the entry's lock; resolves `busy` when another process holds it. `work`
   * gets the entry as it is on disk once the lock is held (undefined: it is gone). The wait is long
   * enough to take over the lock of a dead process, even one killed before it wrote its pid (an
   * empty lock counts as stale after EMPTY_LOCK_STALE_MS), and short against a live holder's send.
   */
  async withEntry<T>(id: string, work: (entry: OutboxEntry | undefined) => Promise<T>, waitMs = EMPTY_LOCK_STALE_MS + 500): Promise<T | 'busy'> {
    try {
      return await withLock(this.jsonPath(id), async () => work(await this.read(id)), { timeoutMs: waitMs });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SETTINGS_LOCKED') return 'busy';
      // The entry folder went away (finished by another process) between the listing and the lock.
      if (code === 'ENOENT') return work(undefined);
      throw err;
    }
  }

  /** An entry id from an id, a unique prefix of one, or a Message-ID. */
  async resolve(ref: string): Promise<string> {
    const all = await this.list();
    const bare = ref.replace(/^<|>$/g, '');
    const exact = all.find((e) => e.id === ref || e.messageId.replace(/^<|>$/g, '') === bare);
    if (exact) return exact.id;
    const prefixed = all.filter((e) => e.id.startsWith(ref));
    if (prefixed.length === 1 && ref.length >= 4) return prefixed[0].id;
    throw new MailError(
      'OUTBOX_NOT_FOUND',
      prefixed.length > 1
        ? text('OUTBOX_NOT_FOUND.ambiguous', { ref, count: prefixed.length, dir: this.dir })
        : text('OUTBOX_NOT_FOUND', { ref, dir: this.dir }),
      { hint: text('OUTBOX_NOT_FOUND.hint') },
    );
  }

  /** Removes what a crash left behind: the trash, and tmp folders a day old (a write in progress is younger). */
  async sweep(now = Date.now()): Promise<void> {
    for (const [dir, minAge] of [
      [this.trash, 0],
      [this.tmp, STALE_TMP_MS],
    ] as const) {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const p = path.join(dir, name);
        try {
          if (minAge && now - (await fs.stat(p)).mtimeMs < minAge) continue;
          await fs.rm(p, { recursive: true, force: true });
        } catch {
          // Another process is sweeping too.
        }
      }
    }
  }
}
