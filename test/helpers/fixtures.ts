/** Small files for attachment tests, made in a private temp folder; a free port; how a call failed. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MailError, Problem, validateSettings } from '../../lib';

export function tempDir(prefix = 'oxymail-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeFixture(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

export const VCARD = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Zoé Dupont\r\nEMAIL:zoe@example.com\r\nEND:VCARD\r\n';
export const VTODO =
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//oxymail//test//FR\r\nMETHOD:REQUEST\r\nBEGIN:VTODO\r\nUID:task-1@example.com\r\n' +
  'DTSTAMP:20261126T120000Z\r\nSUMMARY:Relancer le client\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';

/** A loopback port nothing listens on (for "server down"), free for a server to take later. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The MailError `p` rejects with (a test failure when it resolves or rejects with something else). */
export async function mailFailure(p: Promise<unknown>): Promise<MailError> {
  const err = await p.then(
    () => {
      throw new Error('expected a MailError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailError);
  return err as MailError;
}

/** The problems validateSettings lists for `input` (a test failure unless it throws INVALID_SETTINGS). */
export function settingsProblems(input: unknown): Problem[] {
  try {
    validateSettings(input);
  } catch (err) {
    expect(err).toBeInstanceOf(MailError);
    expect((err as MailError).code).toBe('INVALID_SETTINGS');
    return (err as MailError).problems ?? [];
  }
  throw new Error('expected INVALID_SETTINGS');
}
