/** Small files for attachment tests, made in a private temp folder. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
