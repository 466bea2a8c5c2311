/**
 * A lock file next to the settings file, so two processes (two admins, a CLI and an app) never
 * lose each other's update. The lock is created with O_EXCL and holds the owner's pid. A lock
 * whose owner died (killed mid-write) is taken over instead of blocking forever; so is an empty
 * lock, or one holding anything but a positive pid (`0`, garbage), older than a couple of seconds
 * (a process that died between creating it and writing its pid, or a file someone else wrote).
 *
 * Taking over is serialised by a second, short-lived lock (`<file>.lock.break`): without it, two
 * waiters that both saw the same stale lock could each remove "it", the second one removing the
 * fresh lock the first had just taken, and both would then write. A `.break` whose pid is alive
 * (or reused by another program) is never removed, since its holder may be mid take-over: writers
 * wait for it like for any holder and time out with SETTINGS_LOCKED naming it.
 */
import { promises as fs, Stats } from 'node:fs';
import { MailError } from '../errors';
import { format, Text, text } from '../i18n';

/** How long an empty lock may exist before it counts as left by a crash (its creator writes its pid at once). */
export const EMPTY_LOCK_STALE_MS = 2_000;

/** Options of withLock. */
export interface LockOptions {
  /** How long to wait for another holder (default 10 s). */
  timeoutMs?: number;
  /** Called once when the lock is busy for more than a moment, with a description of its holder. */
  onWait?: (holder: string) => void;
  /** The platform whose file-system errors apply (default process.platform; tests give 'win32'). */
  platform?: string;
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

/**
 * True for an error that means "another process has this file right now". On Windows a file that
 * is being deleted while someone still has it open cannot be opened, created or even stat'ed
 * (EPERM, or EACCES) until the last handle closes: that is a lock being released, not a failure.
 */
export function isBusyError(err: unknown, platform: string = process.platform): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EEXIST' || (platform === 'win32' && (code === 'EPERM' || code === 'EACCES'));
}

/** The holder of a lock file; undefined when there is none (or, on Windows, while it is being deleted). */
async function readHolder(lock: string, platform: string): Promise<Holder | undefined> {
  try {
    const [stat, text] = await Promise.all([fs.stat(lock), fs.readFile(lock, 'utf8')]);
    // Only a positive pid counts: `0` would name our own process group (kill(0, 0) always succeeds)
    // and never go stale. Anything else is garbage, stale like an empty lock.
    const pid = /^[1-9]\d{0,9}$/.test(text.trim()) && Number(text.trim()) <= 0xffffffff ? Number(text.trim()) : undefined;
    return { stat, text, pid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || isBusyError(err, platform)) return undefined;
    throw err;
  }
}

function isStale(h: Holder): boolean {
  if (h.pid !== undefined) return !alive(h.pid);
  return Date.now() - h.stat.mtimeMs > EMPTY_LOCK_STALE_MS;
}

function holderName(h: Holder | undefined): Text {
  if (!h) return text('SETTINGS_LOCKED.holder.unknown');
  if (h.pid !== undefined) return text('SETTINGS_LOCKED.holder.pid', { pid: h.pid });
  return h.text.trim() ? text('SETTINGS_LOCKED.holder.garbage') : text('SETTINGS_LOCKED.holder.noPid');
}

/** Creates `file` exclusively with our pid; false when another process has it. */
async function create(file: string, platform: string): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (err) {
    if (isBusyError(err, platform)) return false;
    throw err;
  }
  try {
    try {
      await handle.writeFile(String(process.pid));
    } finally {
      await handle.close();
    }
  } catch (err) {
    // Left behind, an empty (or half-written) lock would make every writer wait for nobody.
    await fs.rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
  return true;
}

/**
 * Removes `lock` if it is still the stale lock `seen` (same file, same content). Under the break
 * lock, nobody else removes a lock, and a live owner never replaces its own: so what is checked
 * here is what is removed. Returns the holder of the break lock when another process has it (and
 * it is not stale itself), so that the caller can wait and, at its deadline, name it.
 */
async function breakStale(lock: string, seen: Holder, platform: string): Promise<Holder | undefined> {
  const breaker = `${lock}.break`;
  if (!(await create(breaker, platform))) {
    // A breaker that died holding it (a window of microseconds) must not block everyone forever.
    const other = await readHolder(breaker, platform);
    if (other && isStale(other)) {
      await fs.rm(breaker, { force: true });
      return undefined;
    }
    return other;
  }
  try {
    const now = await readHolder(lock, platform);
    if (now && now.stat.ino === seen.stat.ino && now.stat.dev === seen.stat.dev && now.text === seen.text && isStale(now)) {
      await fs.rm(lock, { force: true });
    }
  } finally {
    await fs.rm(breaker, { force: true });
  }
  return undefined;
}

/** Removes our lock, if it is still ours. */
async function release(lock: string, platform: string): Promise<void> {
  // Only our own lock: had ours been taken over (it cannot while we live), the new one is someone else's.
  if ((await readHolder(lock, platform))?.pid === process.pid) await fs.rm(lock, { force: true, maxRetries: 3 });
}

/** Runs `work` while holding `<file>.lock`; waits up to `timeoutMs` for another holder. */
export async function withLock<T>(file: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = `${file}.lock`;
  const platform = options.platform ?? process.platform;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 10_000);
  let told = false;
  // Every pass ends with the deadline check and a pause, whatever it found: a lock that cannot be
  // taken over (its .break held by a live or reused pid) must time out, not spin.
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await create(lock, platform)) break;
    const holder = await readHolder(lock, platform);
    const breaker = holder && isStale(holder) ? await breakStale(lock, holder, platform) : undefined;
    if (Date.now() > deadline) {
      if (breaker) {
        throw new MailError(
          'SETTINGS_LOCKED',
          text('SETTINGS_LOCKED.breakHeld', {
            file,
            lock,
            holder: holder?.pid !== undefined ? text('SETTINGS_LOCKED.holder.dead', { pid: holder.pid }) : text('SETTINGS_LOCKED.holder.empty'),
            breaker: holderName(breaker),
          }),
          { hint: text('SETTINGS_LOCKED.hint.breakHeld', { lock }) },
        );
      }
      throw new MailError('SETTINGS_LOCKED', text('SETTINGS_LOCKED.locked', { file, holder: holderName(holder) }), {
        hint: text('SETTINGS_LOCKED.hint', { lock }),
      });
    }
    if (!told && Date.now() - started > 500) {
      told = true;
      options.onWait?.(format(holderName(breaker ?? holder)));
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  let result: T;
  try {
    result = await work();
  } catch (err) {
    // The work's error is the one to report, not a failure to remove the lock after it.
    await release(lock, platform).catch(() => undefined);
    throw err;
  }
  await release(lock, platform);
  return result;
}
