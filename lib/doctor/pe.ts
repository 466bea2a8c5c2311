/**
 * The PE header of a Windows DLL, read from its first bytes: which CPU it was built for. A process
 * can only load a DLL of its own architecture, so a 32-bit MAPI provider (the default Office install)
 * cannot serve a 64-bit Node, and the reverse. Pure: it reads a Buffer, never a file.
 */
import { format, MessageKey, Params, Text, text, translator } from '../i18n';

/** The architectures oxymail knows, named as Node's `process.arch` names them. */
export type PeArch = 'ia32' | 'x64' | 'arm64';

/** IMAGE_FILE_HEADER.Machine values (winnt.h) and the `process.arch` each matches. */
export const PE_MACHINES: Readonly<Record<number, PeArch>> = {
  0x014c: 'ia32',
  0x8664: 'x64',
  0xaa64: 'arm64',
};

/** What the header says, or why it could not be read. */
export type PeHeader = { ok: true; machine: number; arch: PeArch | null; pe32Plus: boolean | null } | { ok: false; reason: string };

/** The number of bytes to read from a file for readPeHeader (the header sits in the first page). */
export const PE_HEAD_BYTES = 4096;

/**
 * Reads MZ -> e_lfanew -> "PE\0\0" -> Machine from the first bytes of a file. `arch` is null for a
 * machine oxymail does not name (ARM32, Itanium...); `pe32Plus` tells the optional header's format
 * (PE32+ for 64-bit images) when those bytes are present. `reason` is in `locale` (default: the
 * process default).
 */
export function readPeHeader(head: Buffer, locale?: string): PeHeader {
  if (head.length < 0x40 || head.readUInt16LE(0) !== 0x5a4d) return { ok: false, reason: format(text('doctor.pe.noMz'), locale) };
  const peOffset = head.readUInt32LE(0x3c);
  if (peOffset + 6 > head.length) return { ok: false, reason: format(text('doctor.pe.outside', { offset: peOffset, length: head.length }), locale) };
  if (head.readUInt32LE(peOffset) !== 0x00004550) return { ok: false, reason: format(text('doctor.pe.noPe'), locale) };
  const machine = head.readUInt16LE(peOffset + 4);
  // The optional header follows the 20-byte file header; its magic is 0x10b (PE32) or 0x20b (PE32+).
  const magicAt = peOffset + 24;
  const magic = magicAt + 2 <= head.length ? head.readUInt16LE(magicAt) : null;
  return { ok: true, machine, arch: PE_MACHINES[machine] ?? null, pe32Plus: magic === 0x20b ? true : magic === 0x10b ? false : null };
}

/** "64-bit x64 (0x8664)" as a Text, formatted late (in the language of whoever shows it). */
export function machineText(machine: number): Text {
  const hex = `0x${machine.toString(16).padStart(4, '0')}`;
  const arch = PE_MACHINES[machine];
  if (!arch) return text('doctor.machine.unknown', { hex });
  return text(arch === 'ia32' ? 'doctor.machine.ia32' : arch === 'x64' ? 'doctor.machine.x64' : 'doctor.machine.arm64', { hex });
}

/** "64-bit x64 (0x8664)", for messages (in the translator's language; the process default without one). */
export function describeMachine(machine: number, t: (key: MessageKey, params?: Params) => string = translator()): string {
  const m = machineText(machine);
  return t(m.key, m.params);
}

/** The DLLs a PE image imports: loaded with it (`dlls`) and delay-loaded at first use (`delayed`). */
export type PeImports = { ok: true; dlls: string[]; delayed: string[] } | { ok: false; reason: string };

/**
 * Reads the import and delay-import directories of a whole PE image (the file's bytes): the DLL
 * names Windows must find to load it. Used to prove that a shipped addon needs only Windows' own
 * DLLs (no libstdc++/libgcc/winpthread next to it, no `node.exe` to load up front).
 */
export function readPeImports(image: Buffer): PeImports {
  const header = readPeHeader(image);
  if (!header.ok) return header;
  if (header.pe32Plus === null) return { ok: false, reason: 'no optional header' };
  const pe = image.readUInt32LE(0x3c);
  const sections = image.readUInt16LE(pe + 6);
  const optional = pe + 24;
  const directories = optional + (header.pe32Plus ? 112 : 96);
  const table = optional + image.readUInt16LE(pe + 20);
  const offsetOf = (rva: number): number => {
    for (let i = 0; i < sections; i++) {
      const s = table + i * 40;
      const va = image.readUInt32LE(s + 12);
      const size = Math.max(image.readUInt32LE(s + 8), image.readUInt32LE(s + 16));
      if (rva >= va && rva < va + size) return rva - va + image.readUInt32LE(s + 20);
    }
    throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
  };
  const cString = (rva: number): string => {
    const at = offsetOf(rva);
    return image.toString('latin1', at, image.indexOf(0, at));
  };
  // Walks a directory of fixed-size descriptors, ended by an all-zero one; `nameAt`: its name RVA's offset.
  const names = (index: number, size: number, nameAt: number): string[] => {
    const rva = image.readUInt32LE(directories + index * 8);
    if (rva === 0) return [];
    const out: string[] = [];
    for (let at = offsetOf(rva); ; at += size) {
      const descriptor = image.subarray(at, at + size);
      if (descriptor.length < size || descriptor.every((b) => b === 0)) return out;
      out.push(cString(image.readUInt32LE(at + nameAt)));
    }
  };
  try {
    return { ok: true, dlls: names(1, 20, 12), delayed: names(13, 32, 4) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
