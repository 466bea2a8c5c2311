/**
 * One table of codes: every error code the sources raise is in ERROR_CODES (or comes from a MAPI
 * table), and every warning code they attach is in WARNING_CODES. Read from the sources, so a code
 * added without its table entry fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, EXTENDED_MAPI_CODES, SIMPLE_MAPI_CODES, WARNING_CODES } from '../../lib';

const LIB = path.join(__dirname, '..', '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : [];
  });
}

const text = sources(LIB)
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');
const found = (re: RegExp) => new Set([...text.matchAll(re)].map((m) => m[1]));

test('every MailError code in lib/ is in ERROR_CODES or a MAPI table', () => {
  const raised = found(/new MailError\(\s*'([A-Z0-9_]+)'/g);
  failWithProblemsCodes().forEach((c) => raised.add(c));
  expect(raised.size).toBeGreaterThan(10);
  const mapi = new Set([...Object.values(SIMPLE_MAPI_CODES), ...Object.values(EXTENDED_MAPI_CODES).map((c) => `MAPI_${c}`)]);
  const unknown = [...raised].filter((c) => !(c in ERROR_CODES) && !mapi.has(c));
  expect(unknown).toEqual([]);
});

test('every warning code in lib/ is in WARNING_CODES', () => {
  // Warnings are built as { code: 'X', message: ... }; MailError details never use that shape.
  const attached = found(/\{\s*code:\s*'([A-Z0-9_]+)',\s*message:/g);
  // ...or by warning('X', text(...)) when the message comes from the catalogs.
  found(/\bwarning\(\s*'([A-Z0-9_]+)'/g).forEach((c) => attached.add(c));
  expect(attached.size).toBeGreaterThan(3);
  // The CLI's JSON error documents ({ error: { code, message } }) share the shape, with error codes.
  const unknown = [...attached].filter((c) => !(c in WARNING_CODES) && !(c in ERROR_CODES));
  expect(unknown).toEqual([]);
});

function failWithProblemsCodes(): Set<string> {
  return found(/failWithProblems\(\s*'([A-Z0-9_]+)'/g);
}
