/**
 * A lock file next to the settings file, so two processes (two admins, a CLI and an app) never
 * lose each other's update. The lock holds the owner's pid: a lock left by a process that died
 * (killed mid-write) is taken over instead of blocking forever.
 */
import { promises as fs } from 'node:fs';
import { MailError } from '../errors';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `work` while holding `<file>.lock`; waits up to `timeoutMs` for another holder. */
export async function withLock<T>(file: string, work: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const handle = await fs.open(lock, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      if (owner && !alive(owner)) {
        await fs.rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new MailError('SETTINGS_LOCKED', `settings: ${file} is locked by process ${owner || '?'}`, {
          hint: `Another oxymail process is writing the settings; retry, or remove ${lock} if no such process runs.`,
        });
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}
