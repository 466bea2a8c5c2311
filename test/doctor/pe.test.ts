/**
 * readPeHeader: the Machine field of DLL headers built byte by byte, and every way a file can fail
 * to be one.
 */
import { readPeHeader } from '../../lib/doctor';
import { describeMachine } from '../../lib/doctor/pe';
import { MACHINE, peBytes } from './fixtures';

describe('readPeHeader', () => {
  test.each([
    [MACHINE.i386, 'ia32', false],
    [MACHINE.x64, 'x64', true],
    [MACHINE.arm64, 'arm64', true],
  ])('Machine 0x%s is %s', (machine, arch, pe32Plus) => {
    expect(readPeHeader(peBytes(machine))).toEqual({ ok: true, machine, arch, pe32Plus });
  });

  test('an unknown machine is read, with no arch', () => {
    expect(readPeHeader(peBytes(0x01c4))).toEqual({ ok: true, machine: 0x01c4, arch: null, pe32Plus: true });
    expect(describeMachine(0x01c4)).toBe('machine 0x01c4');
    expect(describeMachine(MACHINE.i386)).toBe('32-bit x86 (0x014c)');
  });

  test('a header cut short after Machine: the arch, without the optional header', () => {
    expect(readPeHeader(peBytes(MACHINE.x64).subarray(0, 0x80 + 6))).toEqual({ ok: true, machine: MACHINE.x64, arch: 'x64', pe32Plus: null });
  });

  test('not MZ, too short, e_lfanew beyond the bytes read, no PE signature', () => {
    expect(readPeHeader(Buffer.from('#!/bin/sh\n'.padEnd(128, ' ')))).toEqual({ ok: false, reason: expect.stringMatching(/no MZ header/) });
    expect(readPeHeader(Buffer.from('MZ'))).toMatchObject({ ok: false });
    const farHeader = Buffer.from(peBytes(MACHINE.x64).subarray(0, 0x100));
    farHeader.writeUInt32LE(0x2000, 0x3c);
    expect(readPeHeader(farHeader)).toEqual({ ok: false, reason: expect.stringMatching(/outside the first 256 bytes/) });
    const noSignature = peBytes(MACHINE.x64);
    noSignature.write('NE', 0x80, 'latin1');
    expect(readPeHeader(noSignature)).toEqual({ ok: false, reason: expect.stringMatching(/no "PE\\0\\0" signature/) });
  });
});
