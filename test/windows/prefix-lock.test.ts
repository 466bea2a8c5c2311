/**
 * The lock the Windows suites take on the Wine prefix (harness.ts holdLock, over lib/store/lock's
 * withLock), on a lock file of its own: no Wine needed. Each case passes whatever the machine's
 * speed: a sleep only gives a broken lock more chances to let a second holder in.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { holdLock } from './harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid as number));
  });
}

describe('the Wine prefix lock (holdLock)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-prefix-lock-'));
    file = path.join(dir, 'prefix');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Holds the lock for a while; `inside` counts holders at once, `most` the highest count seen. */
  function contenders(n: number, timeoutMs = 60_000) {
    const state = { inside: 0, most: 0, order: [] as number[] };
    const one = async (i: number) => {
      const release = await holdLock(file, timeoutMs, 'the test prefix');
      state.inside++;
      state.most = Math.max(state.most, state.inside);
      state.order.push(i);
      expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(String(process.pid));
      await sleep(50);
      state.inside--;
      await release();
    };
    return { state, all: Promise.all(Array.from({ length: n }, (_, i) => one(i))) };
  }

  test('one holder at a time; the lock file is gone once the last one released', async () => {
    const { state, all } = contenders(4);
    await all;
    expect(state.most).toBe(1);
    expect(state.order.sort()).toEqual([0, 1, 2, 3]);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  test('a lock left by a dead process is taken over, by one waiter at a time', async () => {
    fs.writeFileSync(`${file}.lock`, String(await deadPid()));
    const { state, all } = contenders(3);
    await all;
    expect(state.most).toBe(1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  test('a lock without a pid (its creator died before writing it) is taken over instead of blocking forever', async () => {
    fs.writeFileSync(`${file}.lock`, '');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(`${file}.lock`, past, past);
    const { state, all } = contenders(2);
    await all;
    expect(state.most).toBe(1);
  });

  test('a live holder past the timeout: an error naming the prefix and the holder, the lock left alone', async () => {
    // The jest parent process: alive for the whole test, and not this process.
    fs.writeFileSync(`${file}.lock`, String(process.ppid));
    await expect(holdLock(file, 300, 'the test prefix')).rejects.toThrow(
      new RegExp(`^the test prefix: .*locked by process ${process.ppid} \\(waited 300 ms; .*WINEPREFIX`),
    );
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(String(process.ppid));
  });
});
