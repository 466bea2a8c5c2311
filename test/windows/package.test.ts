/**
 * The packed tarball (made by npm test's pretest, scripts/win/prepare.js, through npm pack and its
 * prepack) as a user downloads it: its file list, and for each shipped binary the PE machine type and
 * the import table, read with lib/doctor/pe.ts: Windows system DLLs only (static libstdc++, libgcc,
 * winpthread), and Node-API not imported from node.exe at load time (delay-loaded, resolved from the
 * host: test/windows/targets.test.ts runs it as Oxygene.exe).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readPeHeader, readPeImports } from '../../lib/doctor/pe';
import { missingBanner, ROOT } from './harness';

const { name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const TARBALL = path.join(ROOT, '.cache', 'win', 'pack', `${name}-${version}.tgz`);
const SYSTEM = ['advapi32.dll', 'crypt32.dll', 'kernel32.dll', 'msvcrt.dll', 'ole32.dll'];

if (process.platform === 'win32' || !fs.existsSync(TARBALL)) {
  describe('the packed tarball', () => {
    test('needs the tarball npm test prepares (Linux, mingw-w64)', () => {
      const banner = missingBanner(process.platform === 'win32' ? 'the tarball is built on Linux (the package job)' : `${TARBALL} is missing`);
      console.warn(banner);
      if (process.env.CI && process.platform !== 'win32') throw new Error(banner);
    });
  });
} else {
  describe('the packed tarball', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-tarball-'));
    const files = execFileSync('tar', ['-tzf', TARBALL], { encoding: 'utf8' }).split('\n').filter(Boolean);
    execFileSync('tar', ['-xzf', TARBALL, '-C', dir]);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('one prebuild folder per arch, each with one addon named oxymail.node and the recording client', () => {
      const prebuilds = files.filter((f) => f.startsWith('package/prebuilds/')).sort();
      expect(prebuilds).toEqual([
        'package/prebuilds/win32-ia32/oxymail.node',
        'package/prebuilds/win32-ia32/oxymail_recording_client.dll',
        'package/prebuilds/win32-x64/oxymail.node',
        'package/prebuilds/win32-x64/oxymail_recording_client.dll',
      ]);
      for (const f of ['package/dist/index.js', 'package/dist/testing.js', 'package/scripts/install.js', 'package/binding.gyp', 'package/native/registry.cc']) {
        expect(files).toContain(f);
      }
      expect(files.filter((f) => /^package\/(test|lib|\.cache|build|cmake)\/|^package\/CMakeLists\.txt$/.test(f))).toEqual([]);
    });

    test.each([
      ['win32-x64', 0x8664],
      ['win32-ia32', 0x014c],
    ])('%s: PE machine, and only Windows system DLLs imported at load time', (folder, machine) => {
      for (const [file, expected] of [
        ['oxymail.node', SYSTEM],
        ['oxymail_recording_client.dll', ['kernel32.dll', 'msvcrt.dll', 'ole32.dll']],
      ] as const) {
        const image = fs.readFileSync(path.join(dir, 'package', 'prebuilds', folder, file));
        expect(readPeHeader(image)).toMatchObject({ ok: true, machine });
        const imports = readPeImports(image);
        if (!imports.ok) throw new Error(imports.reason);
        expect(imports.dlls.map((d) => d.toLowerCase()).sort()).toEqual(expected);
        if (file === 'oxymail.node') {
          // Node-API goes through the delay-load helper: the name stays in the image, not in the import table.
          expect(image.includes(Buffer.from('node.exe\0', 'latin1'))).toBe(true);
          expect(image.includes(Buffer.from('napi_create_function\0', 'latin1'))).toBe(true);
        }
      }
    });
  });
}
