/**
 * Fixtures for the doctor's tests: PE headers built byte by byte, and a fake probe whose registry,
 * files and network answers are plain data. Anything a fixture does not give fails loudly.
 */
import type { Probe, RegistryValue } from '../../lib/doctor';

/** IMAGE_FILE_HEADER.Machine values. */
export const MACHINE = { i386: 0x014c, x64: 0x8664, arm64: 0xaa64 } as const;

/**
 * A minimal PE image head: "MZ", e_lfanew at 0x3c, "PE\0\0", the file header's Machine, and the
 * optional header's magic (PE32 for i386, PE32+ otherwise). Enough for readPeHeader and for Windows
 * tools that only look at the header.
 */
export function peBytes(machine: number, options: { peOffset?: number; size?: number } = {}): Buffer {
  const peOffset = options.peOffset ?? 0x80;
  const buf = Buffer.alloc(options.size ?? 0x200);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt32LE(peOffset, 0x3c);
  buf.write('PE\0\0', peOffset, 'latin1');
  buf.writeUInt16LE(machine, peOffset + 4);
  buf.writeUInt16LE(0, peOffset + 6); // NumberOfSections
  buf.writeUInt16LE(machine === MACHINE.i386 ? 0xe0 : 0xf0, peOffset + 20); // SizeOfOptionalHeader
  buf.writeUInt16LE(0x2102, peOffset + 22); // Characteristics: EXECUTABLE_IMAGE | 32BIT_MACHINE | DLL
  buf.writeUInt16LE(machine === MACHINE.i386 ? 0x10b : 0x20b, peOffset + 24);
  return buf;
}

/** Registry contents: key -> value name ('' for the default value) -> REG_SZ data or a typed value. */
export type RegistryFixture = Record<string, Record<string, string | RegistryValue>>;

/** A fake probe: Windows x64 in a console session by default, nothing registered, no network. */
export function fakeProbe(
  options: {
    platform?: string;
    arch?: string;
    env?: Record<string, string>;
    registry?: RegistryFixture;
    files?: Record<string, Buffer>;
    overrides?: Partial<Probe>;
  } = {},
): Probe & { registryReads: string[] } {
  const registry = options.registry ?? {};
  const files = options.files ?? {};
  const registryReads: string[] = [];
  const lowerKeys = new Map(Object.keys(registry).map((k) => [k.toLowerCase(), k]));
  return {
    platform: options.platform ?? 'win32',
    arch: options.arch ?? 'x64',
    env: options.env ?? { SESSIONNAME: 'Console' },
    registryReads,
    async readRegistry(key, name) {
      registryReads.push(`${key}:${name ?? '(default)'}`);
      const k = lowerKeys.get(key.toLowerCase());
      const v = k === undefined ? undefined : registry[k][name ?? ''];
      if (v === undefined) return null;
      return typeof v === 'string' ? { type: 'REG_SZ', data: v } : v;
    },
    async readFileHead(path, bytes) {
      const f = files[path];
      return f === undefined ? { exists: false } : { exists: true, head: f.subarray(0, bytes) };
    },
    async lookup() {
      throw new Error('fake probe: no network in this fixture');
    },
    async connect() {
      throw new Error('fake probe: no network in this fixture');
    },
    async smtpHandshake() {
      throw new Error('fake probe: no network in this fixture');
    },
    async smtpLogin() {
      throw new Error('fake probe: no network in this fixture');
    },
    ...options.overrides,
  };
}

/** The registry of a machine whose default mail client is `name` with the given DLL values. */
export function clientRegistry(name: string, values: Record<string, string | RegistryValue>, hive: 'HKLM' | 'HKCU' = 'HKLM'): RegistryFixture {
  return {
    [`${hive}\\Software\\Clients\\Mail`]: { '': name },
    [`HKLM\\Software\\Clients\\Mail\\${name}`]: { '': name, ...values },
  };
}
