/**
 * binding.gyp (the MSVC build: arm64 on the windows runner, a user's source build) and
 * CMakeLists.txt (the mingw-w64 cross-build of the x64 and ia32 prebuilds) must build the same
 * addon: same sources, same defines, the one exception policy, the one NAPI_VERSION mirrored in
 * package.json. The workflow's key invariants are read from its YAML.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

function gyp() {
  // gyp files are Python literals: drop comments and trailing commas to read them as JSON.
  const text = read('binding.gyp')
    .replace(/#.*$/gm, '')
    .replace(/,(\s*[\]}])/g, '$1');
  const target = JSON.parse(text).targets.find((t: { target_name: string }) => t.target_name === 'oxymail');
  const win = target.conditions.find((c: [string, object]) => c[0].includes("OS=='win'"))[1];
  return { target, win, sources: [...win.sources].sort(), defines: [...win.defines].sort() };
}

function cmakeList(command: RegExp): string[] {
  const m = read('CMakeLists.txt').match(command);
  if (!m) throw new Error(`CMakeLists.txt: ${command} not found`);
  return m[1].split(/\s+/).filter(Boolean).sort();
}

/** The mingw-only source: node-gyp links its own delay-load hook into MSVC builds. */
const MINGW_ONLY = 'native/win_delay_load_hook.cc';

test('binding.gyp and CMakeLists.txt list the same sources (plus mingw delay-load hook) and defines', () => {
  const g = gyp();
  expect(g.sources.length).toBeGreaterThan(0);
  expect(cmakeList(/add_library\(oxymail SHARED([^)]*)\)/)).toEqual(g.sources);
  expect(cmakeList(/target_sources\(oxymail PRIVATE([^)]*)\)/)).toEqual([MINGW_ONLY]);
  expect(g.sources).not.toContain(MINGW_ONLY);
  // node-gyp's own hook stays on (win_delay_load_hook defaults to true).
  expect(JSON.stringify(g.target)).not.toMatch(/win_delay_load_hook[^,]*false/);
  expect(cmakeList(/target_compile_definitions\(oxymail PRIVATE([^)]*)\)/)).toEqual(g.defines);
  // Every native source is built by both (or is the mingw-only hook).
  const cc = readdirSync(path.join(ROOT, 'native'))
    .filter((f) => f.endsWith('.cc'))
    .map((f) => `native/${f}`)
    .sort();
  expect(cc).toEqual([...g.sources, MINGW_ONLY].sort());
});

test('one exception policy, C++ exceptions on, in both build files', () => {
  const g = gyp();
  expect(g.defines).toEqual(expect.arrayContaining(['NAPI_CPP_EXCEPTIONS', '_HAS_EXCEPTIONS=1']));
  // Node's common.gypi adds _HAS_EXCEPTIONS=0 for MSVC: removed, and /EHsc on.
  expect(g.win['defines!']).toEqual(['_HAS_EXCEPTIONS=0']);
  expect(g.win.msvs_settings.VCCLCompilerTool.ExceptionHandling).toBe(1);
  const cmake = read('CMakeLists.txt');
  expect(cmake).not.toMatch(/-fno-exceptions/);
  for (const file of ['binding.gyp', 'CMakeLists.txt', ...readdirSync(path.join(ROOT, 'native')).map((f) => `native/${f}`)]) {
    expect(read(file)).not.toMatch(/NAPI_DISABLE_CPP_EXCEPTIONS\b(?!\))/);
  }
  // The addon refuses to compile under another policy.
  expect(read('native/addon.cc')).toMatch(/#if !defined\(NAPI_CPP_EXCEPTIONS\)/);
  expect(read('native/addon.cc')).toMatch(/defined\(_HAS_EXCEPTIONS\) && !_HAS_EXCEPTIONS/);
});

test('no constexpr initialised with HRESULT_FROM_WIN32 (a FORCEINLINE function in the Windows SDK: MSVC C2131)', () => {
  for (const file of readdirSync(path.join(ROOT, 'native'))) {
    expect(read(path.join('native', file))).not.toMatch(/constexpr[^;]*\bHRESULT_FROM_WIN32\s*\(/);
  }
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

test('package.json: node-gyp ^12 for prebuildify (VS 2026), prepack checks the prebuilds, the tarball ships them', () => {
  const pkg = JSON.parse(read('package.json'));
  expect(pkg.devDependencies['node-gyp']).toMatch(/^\^12\./);
  expect(pkg.scripts.prepack).toMatch(/scripts\/prepack\.js/);
  expect(pkg.files).toEqual(expect.arrayContaining(['prebuilds', 'native', 'binding.gyp', 'scripts/install.js']));
});

describe('.github/workflows/windows.yml', () => {
  const wf = parse(read('.github/workflows/windows.yml'));
  const jobs = wf.jobs as Record<string, any>;
  const steps = (job: string): any[] => jobs[job].steps;
  const runs = (job: string): string =>
    steps(job)
      .map((s) => s.run ?? '')
      .join('\n');

  test('the MSVC build pins the Node target and the MAPIStubLibrary commit, and uses node-gyp from devDependencies', () => {
    const msvc = runs('msvc');
    expect(msvc).toMatch(/prebuildify --napi .*-t \d+\.\d+\.\d+/);
    expect(msvc).not.toMatch(/--strip/);
    expect(msvc).toMatch(/MAPIStubLibrary/);
    // Fetched at a commit (40 hex digits), never at a moving HEAD.
    expect(jobs.msvc.env.MAPI_STUB_COMMIT).toMatch(/^[0-9a-f]{40}$/);
    expect(msvc).toMatch(/fetch --depth 1 \S*MAPIStubLibrary\S* "\$MAPI_STUB_COMMIT"/);
    expect(msvc).not.toMatch(/clone [^\n]*MAPIStubLibrary/);
    expect(msvc).toMatch(/npm ci/);
  });

  test('the test legs need only the Linux-built package, never the MSVC legs, and run x64 and ia32', () => {
    expect([jobs.test.needs].flat()).toEqual(['package']);
    expect(jobs.test.strategy['fail-fast']).toBe(false);
    const archs = jobs.test.strategy.matrix.include.map((m: any) => m.arch);
    expect(archs).toEqual(expect.arrayContaining(['x64', 'ia32']));
    expect(steps('test').some((s) => s.uses?.startsWith('actions/download-artifact') && s.with?.name === 'package')).toBe(true);
    expect(runs('test')).toMatch(/jest .*test\/windows\/targets\.test\.ts/);
  });

  test('the release job merges Linux x64/ia32 and MSVC arm64, packs once, checks three arches, publishes with provenance', () => {
    const release = jobs.release;
    expect(release.if).toMatch(/refs\/tags\//);
    expect([release.needs].flat()).toEqual(expect.arrayContaining(['package', 'msvc', 'test']));
    expect(release.permissions['id-token']).toBe('write');
    const r = runs('release');
    expect(r).toMatch(/OXYMAIL_PREPACK_BUILD=0/);
    expect(r.match(/npm pack/g)).toHaveLength(1);
    expect(r).toMatch(/check-package\.js .*--arches x64,ia32,arm64/);
    expect(r).toMatch(/npm publish .*--provenance/);
  });
});
