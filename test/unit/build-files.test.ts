/**
 * binding.gyp (the release build, driven by prebuildify/node-gyp on Windows) and CMakeLists.txt
 * (the mingw-w64 cross-build used on Linux) must build the same addon: same sources, same defines,
 * and the one NAPI_VERSION mirrored in package.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

function gyp() {
  // gyp files are Python literals: drop comments and trailing commas to read them as JSON.
  const text = read('binding.gyp')
    .replace(/#.*$/gm, '')
    .replace(/,(\s*[\]}])/g, '$1');
  const target = JSON.parse(text).targets.find((t: { target_name: string }) => t.target_name === 'oxymail');
  const win = target.conditions.find((c: [string, object]) => c[0].includes("OS=='win'"))[1];
  return { sources: [...win.sources].sort(), defines: [...win.defines].sort() };
}

function cmakeList(command: RegExp): string[] {
  const m = read('CMakeLists.txt').match(command);
  if (!m) throw new Error(`CMakeLists.txt: ${command} not found`);
  return m[1].split(/\s+/).filter(Boolean).sort();
}

test('binding.gyp and CMakeLists.txt list the same sources and defines', () => {
  const g = gyp();
  expect(g.sources.length).toBeGreaterThan(0);
  expect(cmakeList(/add_library\(oxymail SHARED([^)]*)\)/)).toEqual(g.sources);
  expect(cmakeList(/target_compile_definitions\(oxymail PRIVATE([^)]*)\)/)).toEqual(g.defines);
});

test('NAPI_VERSION is stated once per build file and mirrored in package.json binary.napi_versions', () => {
  const version = Number(
    gyp()
      .defines.find((d: string) => d.startsWith('NAPI_VERSION='))
      ?.split('=')[1],
  );
  expect(version).toBeGreaterThanOrEqual(8);
  expect(JSON.parse(read('package.json')).binary.napi_versions).toEqual([version]);
  for (const dir of ['native']) {
    for (const file of readdirSync(path.join(ROOT, dir))) {
      expect(read(path.join(dir, file))).not.toMatch(/#define\s+NAPI_VERSION/);
    }
  }
});
