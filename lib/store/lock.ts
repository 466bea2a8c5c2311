/**
 * A lock file next to the settings file, so two processes (two admins, a CLI and an app) never
 * lose each other's update. The lock is created with O_EXCL and holds the owner's pid. A lock
 * whose owner died (killed mid-write) is taken over instead of blocking forever; so is an empty
 * lock older than a couple of seconds (a process that died between creating it and writing its
 * pid).
 *
 * Taking over is serialised by a second, short-lived lock (`<file>.lock.break`): without it, two
 * waiters that both saw the same stale lock could each remove "it", the second one removing the
 * fresh lock the first had just taken, and both would then write.
 */
import { promises as fs, Stats } from 'node:fs';
import { MailError } from '../errors';

/** How long an empty lock may exist before it counts as left by a crash (its creator writes its pid at once). */
export const EMPTY_LOCK_STALE_MS = 2_000;

/** Options of withLock. */
export interface LockOptions {
  /** How long to wait for another holder (default 10 s). */
  timeoutMs?: number;
  /** Called once when the lock is busy for more than a moment, with a description of its holder. */
  onWait?: (holder: string) => void;
}

/** True when a process with this pid exists (EPERM: it exists, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  stat: Stats;
  text: string;
  pid: number | undefined;
}

async function readHolder(lock: string): Promise<Holder | undefined> {
  try {
    const [stat, text] = await Promise.all([fs.stat(lock), fs.readFile(lock, 'utf8')]);
    const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    return { stat, text, pid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isStale(h: Holder): boolean {
  if (h.pid !== undefined) return !alive(h.pid);
  return Date.now() - h.stat.mtimeMs > EMPTY_LOCK_STALE_MS;
}

function holderName(h: Holder | undefined): string {
  if (!h) return 'another process';
  return h.pid !== undefined ? `process ${h.pid}` : 'a process that has not written its pid yet';
}

/** Creates `file` exclusively with our pid; false when it exists. */
async function create(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(String(process.pid));
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes `lock` if it is still the stale lock `seen` (same file, same content). Under the break
 * lock, nobody else removes a lock, and a live owner never replaces its own: so what is checked
 * here is what is removed.
 */
async function breakStale(lock: string, seen: Holder): Promise<void> {
  const breaker = `${lock}.break`;
  if (!(await create(breaker))) {
    // A breaker that died holding it (a window of microseconds) must not block everyone forever.
    const other = await readHolder(breaker);
    if (other && isStale(other)) await fs.rm(breaker, { force: true });
    return;
  }
  try {
    const now = await readHolder(lock);
    if (now && now.stat.ino === seen.stat.ino && now.stat.dev === seen.stat.dev && now.text === seen.text && isStale(now)) {
      await fs.rm(lock, { force: true });
    }
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

/** Runs `work` while holding `<file>.lock`; waits up to `timeoutMs` for another holder. */
export async function withLock<T>(file: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = `${file}.lock`;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 10_000);
  let told = false;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await create(lock)) break;
    const holder = await readHolder(lock);
    if (!holder) continue; // released between our attempt and the read
    if (isStale(holder)) {
      await breakStale(lock, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new MailError('SETTINGS_LOCKED', `settings: ${file} is locked by ${holderName(holder)}`, {
        hint: `Another oxymail process is writing the settings; retry, or remove ${lock} if no such process runs.`,
      });
    }
    if (!told && Date.now() - started > 500) {
      told = true;
      options.onWait?.(holderName(holder));
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    return await work();
  } finally {
    // Only our own lock: had ours been taken over (it cannot while we live), the new one is someone else's.
    if ((await readHolder(lock).catch(() => undefined))?.pid === process.pid) await fs.rm(lock, { force: true });
  }
}
