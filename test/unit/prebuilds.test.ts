/**
 * What `npm pack` refuses to ship (scripts/prepack.js, scripts/win/prebuilds.js): a missing x64 or
 * ia32 prebuild, a second addon next to the first, a binary of the wrong arch. The real binaries
 * are checked in test/windows/package.test.ts; here, folders of PE headers built byte by byte.
 * Needs dist/ (npm test builds it first).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MACHINE, peBytes } from '../doctor/fixtures';

const ROOT = path.join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkPrebuilds } = require(path.join(ROOT, 'scripts', 'win', 'prebuilds.js'));

function folder(files: Record<string, number>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-prebuilds-'));
  for (const [file, machine] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), peBytes(machine));
  }
  return dir;
}

const COMPLETE = {
  'win32-x64/oxymail.node': MACHINE.x64,
  'win32-x64/oxymail_recording_client.dll': MACHINE.x64,
  'win32-ia32/oxymail.node': MACHINE.i386,
  'win32-ia32/oxymail_recording_client.dll': MACHINE.i386,
};

test('x64 and ia32 complete: no problem; arm64 is checked when present', () => {
  expect(checkPrebuilds(folder(COMPLETE)).problems).toEqual([]);
  const wrongArm = folder({ ...COMPLETE, 'win32-arm64/oxymail.node': MACHINE.x64 });
  expect(checkPrebuilds(wrongArm).problems).toEqual([
    expect.stringMatching(/win32-arm64.oxymail\.node: 64-bit x64 \(0x8664\), expected 64-bit ARM \(0xaa64\)$/),
  ]);
});

test('a missing arch, a second addon, a wrong machine, a missing recording client are each named', () => {
  const { 'win32-ia32/oxymail.node': _a, 'win32-ia32/oxymail_recording_client.dll': _c, ...x64Only } = COMPLETE;
  expect(checkPrebuilds(folder(x64Only)).problems).toEqual(['prebuilds/win32-ia32/ is missing']);
  const two = checkPrebuilds(folder({ ...COMPLETE, 'win32-x64/oxymail.napi.node': MACHINE.x64 })).problems;
  expect(two).toEqual(['prebuilds/win32-x64/ must hold exactly one addon, oxymail.node (has: oxymail.napi.node, oxymail.node)']);
  const swapped = checkPrebuilds(folder({ ...COMPLETE, 'win32-ia32/oxymail.node': MACHINE.x64 })).problems;
  expect(swapped).toEqual([expect.stringMatching(/win32-ia32.oxymail\.node: 64-bit x64 \(0x8664\), expected 32-bit x86 \(0x014c\)$/)]);
  const { 'win32-x64/oxymail_recording_client.dll': _d, ...noClient } = COMPLETE;
  expect(checkPrebuilds(folder(noClient)).problems).toEqual([
    "prebuilds/win32-x64/oxymail_recording_client.dll (oxymail/testing's recording client) is missing",
  ]);
});

test('npm pack (prepack) fails loudly, exit 1, when a prebuild is missing', () => {
  const { 'win32-x64/oxymail.node': _a, ...noX64Addon } = COMPLETE;
  const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'prepack.js')], {
    env: { ...process.env, OXYMAIL_PREPACK_BUILD: '0', OXYMAIL_PREBUILDS_DIR: folder(noX64Addon) },
    encoding: 'utf8',
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/NOT PACKING, the Windows prebuilds are not all there/);
  expect(run.stderr).toMatch(/prebuilds\/win32-x64\/ must hold exactly one addon, oxymail\.node \(has: none\)/);
});
