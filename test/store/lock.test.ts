/**
 * The settings lock on real files: take-overs that cannot happen time out instead of spinning,
 * Windows' "being deleted" errors count as busy, and a failed lock never stays behind or hides
 * the real error. A file-system fault that Linux cannot produce on demand (EPERM on a file being
 * deleted, ENOSPC) is injected into node:fs for the one lock path; everything else is real.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fsModule from 'node:fs';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MailError, openSettingsStore } from '../../lib';
import { isBusyError, withLock } from '../../lib/store/lock';
import { tempDir } from '../helpers/fixtures';

const fsp = fsModule.promises;

function storeFile(): string {
  return path.join(tempDir(), 'users.json');
}

/** A pid that no process has: a child that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** A process that lives until killed. */
function liveProcess() {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** Counts the attempts to create `lock` (every pass of the wait loop makes one). */
function countAttempts(lock: string): { count: () => number } {
  let n = 0;
  const open = fsp.open.bind(fsp);
  jest.spyOn(fsp, 'open').mockImplementation(((file: fsModule.PathLike, ...rest: unknown[]) => {
    if (file === lock) n++;
    return (open as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fsp.open);
  return { count: () => n };
}

/**
 * The most passes a loop that pauses 5, 10, 20, 40, 80, then 100 ms could make in `elapsedMs`
 * (with slack for early timers): a lower bound on pausing, not an upper bound on time.
 */
const maxPasses = (elapsedMs: number) => 10 + Math.ceil(elapsedMs / 50);

afterEach(() => jest.restoreAllMocks());

test('isBusyError: EEXIST everywhere; EPERM and EACCES (a lock being deleted) only on Windows', () => {
  expect(isBusyError(errno('EEXIST'), 'linux')).toBe(true);
  expect(isBusyError(errno('EEXIST'), 'win32')).toBe(true);
  for (const code of ['EPERM', 'EACCES']) {
    expect(isBusyError(errno(code), 'win32')).toBe(true);
    expect(isBusyError(errno(code), 'linux')).toBe(false);
  }
  expect(isBusyError(errno('ENOSPC'), 'win32')).toBe(false);
  expect(isBusyError(undefined, 'win32')).toBe(false);
});

describe('a stale lock whose take-over lock (.break) is held', () => {
  test('by a live (or reused) pid: SETTINGS_LOCKED naming the .break file and its pid at the deadline, pausing on every pass', async () => {
    const file = storeFile();
    const store = openSettingsStore(file, { lockTimeoutMs: 1000 });
    await store.set('bob', { email: 'bob@example.com' });
    const dead = deadPid();
    const holder = liveProcess();
    try {
      writeFileSync(`${file}.lock`, String(dead));
      writeFileSync(`${file}.lock.break`, String(holder.pid));
      const attempts = countAttempts(`${file}.lock`);
      const started = Date.now();
      const err = await store.set('bob', { email: 'bob@example.com', label: 'x' }).then(
        () => undefined,
        (e) => e,
      );
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(MailError);
      expect(err.code).toBe('SETTINGS_LOCKED');
      expect(err.message).toContain(`locked by process ${dead}, which no longer runs`);
      expect(err.message).toContain(`${file}.lock.break`);
      expect(err.message).toContain(`held by process ${holder.pid}`);
      expect(err.hint).toContain(`remove ${file}.lock.break`);
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      expect(attempts.count()).toBeGreaterThan(1);
      expect(attempts.count()).toBeLessThanOrEqual(maxPasses(elapsed));
      // Nothing was taken from the live pid, and nothing was written.
      expect(readdirSync(path.dirname(file)).sort()).toEqual(['users.json', 'users.json.lock', 'users.json.lock.break']);
      expect((await store.get('bob'))?.label).toBeUndefined();
    } finally {
      holder.kill();
    }
  });

  test('by the real CLI: `settings set` exits 1 with SETTINGS_LOCKED naming the .break file (it used to spin forever)', async () => {
    const file = storeFile();
    await openSettingsStore(file).set('bob', { email: 'bob@example.com' });
    const holder = liveProcess();
    try {
      writeFileSync(`${file}.lock`, String(deadPid()));
      writeFileSync(`${file}.lock.break`, String(holder.pid));
      const bin = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
      const cli = spawn(process.execPath, [bin, 'settings', 'set', 'bob', 'label=x', '--json'], {
        env: { ...process.env, OXYMAIL_SETTINGS: file },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      cli.stdout.on('data', (d) => (stdout += d));
      cli.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve, reject) => {
        cli.on('error', reject);
        cli.on('close', resolve);
      });
      expect(code).toBe(1);
      expect(JSON.parse(stdout).error).toMatchObject({ code: 'SETTINGS_LOCKED', message: expect.stringContaining(`${file}.lock.break`) });
      expect(stderr).toMatch(/^error \[SETTINGS_LOCKED\]: .*users\.json\.lock\.break .*held by process \d+/m);
    } finally {
      holder.kill();
    }
  }, 120_000); // the CLI waits its default 10 s

  test('empty and fresh (its breaker is starting): waited for with pauses, taken over once older than 2 s', async () => {
    const file = storeFile();
    const store = openSettingsStore(file, { lockTimeoutMs: 60_000 });
    await store.set('bob', { email: 'bob@example.com' });
    writeFileSync(`${file}.lock`, String(deadPid()));
    writeFileSync(`${file}.lock.break`, '');
    const attempts = countAttempts(`${file}.lock`);
    const started = Date.now();
    await store.set('bob', { email: 'bob@example.com', label: 'x' });
    const elapsed = Date.now() - started;
    expect(attempts.count()).toBeLessThanOrEqual(maxPasses(elapsed));
    expect((await store.get('bob'))?.label).toBe('x');
    expect(readdirSync(path.dirname(file)).filter((f) => f.includes('.lock'))).toEqual([]);
  }, 90_000);
});

describe('Windows: a lock being deleted (EPERM/EACCES) is busy, not a failure', () => {
  /** Makes the next `times` calls of fs.promises[method] on `target` fail with `code`, then runs `after` once. */
  function failOn(method: 'open' | 'stat', target: string, code: string, times: number, after?: () => void) {
    const real = fsp[method].bind(fsp) as (...a: unknown[]) => Promise<unknown>;
    let left = times;
    jest.spyOn(fsp, method).mockImplementation(((file: unknown, ...rest: unknown[]) => {
      if (file === target && left > 0) {
        left--;
        if (left === 0) after?.();
        return Promise.reject(errno(code));
      }
      return real(file, ...rest);
    }) as never);
  }

  test.each(['EPERM', 'EACCES'])(
    'creating the lock fails with %s: on win32 it is retried and taken; on Linux the error is thrown and no lock is left',
    async (code) => {
      const file = storeFile();
      failOn('open', `${file}.lock`, code, 3);
      let ran = 0;
      await expect(withLock(file, async () => ++ran, { platform: 'win32', timeoutMs: 60_000 })).resolves.toBe(1);
      expect(existsSync(`${file}.lock`)).toBe(false);

      failOn('open', `${file}.lock`, code, 1);
      await expect(withLock(file, async () => ++ran, { platform: 'linux', timeoutMs: 60_000 })).rejects.toMatchObject({ code });
      expect(ran).toBe(1);
      expect(existsSync(`${file}.lock`)).toBe(false);
    },
  );

  test('reading the holder fails with EPERM while its lock is deleted: on win32 the writer waits and takes it once it is gone', async () => {
    const file = storeFile();
    const holder = liveProcess();
    try {
      writeFileSync(`${file}.lock`, String(holder.pid));
      // The holder's lock reads as EPERM twice (delete pending), then the deletion completes.
      failOn('stat', `${file}.lock`, 'EPERM', 2, () => fsModule.rmSync(`${file}.lock`));
      await expect(withLock(file, async () => 'written', { platform: 'win32', timeoutMs: 60_000 })).resolves.toBe('written');
      expect(existsSync(`${file}.lock`)).toBe(false);

      writeFileSync(`${file}.lock`, String(holder.pid));
      failOn('stat', `${file}.lock`, 'EPERM', 1);
      await expect(withLock(file, async () => 'written', { platform: 'linux', timeoutMs: 60_000 })).rejects.toMatchObject({ code: 'EPERM' });
    } finally {
      holder.kill();
    }
  });
});

describe('our own lock never stays behind or hides the real error', () => {
  test('writing our pid into the new lock fails (ENOSPC): the lock is removed and the error thrown; the next writer takes it at once', async () => {
    const file = storeFile();
    const real = fsp.open.bind(fsp) as (...a: unknown[]) => Promise<fsModule.promises.FileHandle>;
    jest.spyOn(fsp, 'open').mockImplementationOnce((async (target: unknown, ...rest: unknown[]) => {
      const handle = await real(target, ...rest);
      handle.writeFile = () => Promise.reject(errno('ENOSPC'));
      return handle;
    }) as never);
    let ran = false;
    await expect(
      withLock(file, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(ran).toBe(false);
    expect(existsSync(`${file}.lock`)).toBe(false);
    await expect(withLock(file, async () => 'next', { timeoutMs: 60_000 })).resolves.toBe('next');
  });

  test("the work fails and removing the lock fails too: the work's error is the one thrown", async () => {
    const file = storeFile();
    const rm = fsp.rm.bind(fsp);
    jest
      .spyOn(fsp, 'rm')
      .mockImplementation(((target: fsModule.PathLike, options?: fsModule.RmOptions) =>
        target === `${file}.lock` ? Promise.reject(errno('EIO')) : rm(target, options)) as typeof fsp.rm);
    await expect(
      withLock(file, async () => {
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    // After a successful work, a failed release is reported (the lock would otherwise stay unnoticed).
    jest.restoreAllMocks();
    fsModule.rmSync(`${file}.lock`);
    jest
      .spyOn(fsp, 'rm')
      .mockImplementation(((target: fsModule.PathLike, options?: fsModule.RmOptions) =>
        target === `${file}.lock` ? Promise.reject(errno('EIO')) : rm(target, options)) as typeof fsp.rm);
    await expect(withLock(file, async () => 'done')).rejects.toMatchObject({ code: 'EIO' });
  });
});
