/**
 * Reads the first bytes of a file (a DLL's PE header), for the doctor's probe and the bitness check
 * a MAPI send makes. Its own file: the MAPI transport uses it without importing the whole probe.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHead } from './probe';

/** The first `bytes` bytes of a file, or that it does not exist. */
export async function readFileHead(path: string, bytes: number): Promise<FileHead> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
    return { exists: true, error: (err as Error).message };
  }
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return { exists: true, head: buffer.subarray(0, bytesRead) };
  } catch (err) {
    return { exists: true, error: (err as Error).message };
  } finally {
    await handle.close();
  }
}

/**
 * readFileHead, synchronously (4 KiB of a local DLL: microseconds). The MAPI transport uses it so
 * that its pre-send check takes no I/O turn: sends made in a row still reach the MAPI thread in order.
 */
export function readFileHeadSync(path: string, bytes: number): FileHead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
    return { exists: true, error: (err as Error).message };
  }
  try {
    const buffer = Buffer.alloc(bytes);
    const bytesRead = readSync(fd, buffer, 0, bytes, 0);
    return { exists: true, head: buffer.subarray(0, bytesRead) };
  } catch (err) {
    return { exists: true, error: (err as Error).message };
  } finally {
    closeSync(fd);
  }
}
