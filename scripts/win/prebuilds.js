// What a prebuild folder must hold to ship, checked by `npm pack` (scripts/prepack.js), by
// scripts/check-package.js on the packed tarball and by the release job: per arch one addon named
// oxymail.node (as prebuildify --napi names it, so a second build of the same arch replaces it and
// node-gyp-build never has two to choose from), the recording client for oxymail/testing, each a PE
// image of that arch importing Windows' own DLLs only. Reads PE headers with dist/doctor/pe.js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
/** The arches the Linux cross-build makes (required in every package) and the one the MSVC runner adds. */
const CROSS_ARCHES = ['x64', 'ia32'];
const ALL_ARCHES = [...CROSS_ARCHES, 'arm64'];
const ADDON = 'oxymail.node';
const CLIENT = 'oxymail_recording_client.dll';
const MACHINE = { x64: 0x8664, ia32: 0x014c, arm64: 0xaa64 };
/**
 * DLLs every Windows has (System32), compared case-insensitively. node.exe is never among the load-time
 * imports: Node-API is delay-loaded and resolved from the host executable.
 */
const SYSTEM_DLL = /^(kernel32|user32|advapi32|ole32|oleaut32|crypt32|msvcrt|shell32|ws2_32|bcrypt|ntdll|shlwapi|version|api-ms-win-[a-z0-9-]+)\.dll$/i;

function pe() {
  try {
    return require(path.join(ROOT, 'dist', 'doctor', 'pe.js'));
  } catch (err) {
    throw new Error(`dist/doctor/pe.js is missing: run npm run build first (${err.message})`);
  }
}

/** Problems of one binary (empty: fine). */
function checkBinary(file, arch) {
  const { readPeHeader, readPeImports, describeMachine } = pe();
  const image = fs.readFileSync(file);
  const header = readPeHeader(image);
  if (!header.ok) return [`${file}: ${header.reason}`];
  const problems = [];
  if (header.machine !== MACHINE[arch]) problems.push(`${file}: ${describeMachine(header.machine)}, expected ${describeMachine(MACHINE[arch])}`);
  const imports = readPeImports(image);
  if (!imports.ok) return [...problems, `${file}: import table unreadable: ${imports.reason}`];
  const foreign = imports.dlls.filter((d) => !SYSTEM_DLL.test(d));
  if (foreign.length) problems.push(`${file}: imports ${foreign.join(', ')} at load time (only Windows system DLLs are allowed)`);
  return problems;
}

/**
 * Checks `dir`/win32-<arch>/ for each arch in `required` (and in `optional` when that folder exists).
 * Returns { problems, found: { arch: { addon, client, imports } } }.
 */
function checkPrebuilds(dir, required = CROSS_ARCHES, optional = ['arm64']) {
  const problems = [];
  const found = {};
  for (const arch of [...required, ...optional]) {
    const folder = path.join(dir, `win32-${arch}`);
    if (!fs.existsSync(folder)) {
      if (required.includes(arch)) problems.push(`prebuilds/win32-${arch}/ is missing`);
      continue;
    }
    const nodes = fs.readdirSync(folder).filter((f) => f.endsWith('.node'));
    if (nodes.length !== 1 || nodes[0] !== ADDON) {
      problems.push(`prebuilds/win32-${arch}/ must hold exactly one addon, ${ADDON} (has: ${nodes.join(', ') || 'none'})`);
    }
    const addon = path.join(folder, ADDON);
    const client = path.join(folder, CLIENT);
    if (fs.existsSync(addon)) problems.push(...checkBinary(addon, arch));
    // The MSVC runner builds the addon only: the recording client is cross-built with mingw-w64.
    if (fs.existsSync(client)) problems.push(...checkBinary(client, arch));
    else if (CROSS_ARCHES.includes(arch)) problems.push(`prebuilds/win32-${arch}/${CLIENT} (oxymail/testing's recording client) is missing`);
    found[arch] = { addon: fs.existsSync(addon), client: fs.existsSync(client) };
  }
  return { problems, found };
}

module.exports = { CROSS_ARCHES, ALL_ARCHES, ADDON, CLIENT, MACHINE, SYSTEM_DLL, checkBinary, checkPrebuilds };

// node scripts/win/prebuilds.js [--arches x64,ia32] [--addon-only]: checks ./prebuilds (the MSVC job
// checks its one addon: --addon-only, no recording client there).
if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--arches');
  const arches = at >= 0 ? args[at + 1].split(',') : CROSS_ARCHES;
  const addonOnly = args.includes('--addon-only');
  const problems = [];
  for (const arch of arches) {
    const addon = path.join(ROOT, 'prebuilds', `win32-${arch}`, ADDON);
    if (!addonOnly) continue;
    if (!fs.existsSync(addon)) problems.push(`${addon} is missing`);
    else problems.push(...checkBinary(addon, arch));
    const others = fs.readdirSync(path.dirname(addon)).filter((f) => f.endsWith('.node') && f !== ADDON);
    if (others.length) problems.push(`prebuilds/win32-${arch}/ also holds ${others.join(', ')}`);
  }
  if (!addonOnly) problems.push(...checkPrebuilds(path.join(ROOT, 'prebuilds'), arches, []).problems);
  if (problems.length) {
    console.error(problems.map((p) => '  - ' + p).join('\n'));
    process.exit(1);
  }
  console.log(`[prebuilds] ${arches.map((a) => `win32-${a}`).join(', ')}: checked (PE machine, imports)`);
}
