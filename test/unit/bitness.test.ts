/**
 * MAPI_BITNESS_MISMATCH: the pure decision and the check a MAPI send makes before its first MAPI
 * call, with a fake registry and PE headers built byte by byte (test/windows/targets.test.ts runs it
 * under Wine with real DLLs of both bitnesses).
 */
import { bitnessMismatch, checkMapiBitness, dllFor } from '../../lib/doctor/bitness';
import { NativeBinding, NativeLoad } from '../../lib/native';
import { MapiTransport, uiParam } from '../../lib/transports/mapi';
import { clientRegistry, fakeProbe, MACHINE, peBytes } from '../doctor/fixtures';
import { mailFailure as rejection } from '../helpers/fixtures';

const OUTLOOK = 'C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\OLMAPI32.DLL';
const OUTLOOK64 = 'C:\\Program Files\\Microsoft Office\\root\\Office16\\OLMAPI32.DLL';

function machine(files: Record<string, number>, registry = clientRegistry('Microsoft Outlook', { DLLPath: 'mapi32.dll', DLLPathEx: OUTLOOK })) {
  return fakeProbe({ registry, files: Object.fromEntries(Object.entries(files).map(([p, m]) => [p, peBytes(m)])) });
}

describe('the decision', () => {
  test('a 32-bit DLLPathEx for a 64-bit process is MAPI_BITNESS_MISMATCH, with a hint naming SMTP and ia32', async () => {
    const err = await rejection(checkMapiBitness(machine({ [OUTLOOK]: MACHINE.i386 }), 'extended', 'x64'));
    expect(err.code).toBe('MAPI_BITNESS_MISMATCH');
    expect(err.protocol).toBe('mapi');
    expect(err.message).toBe(
      `send (MAPI): Microsoft Outlook's DLLPathEx (${OUTLOOK}) is 32-bit x86 (0x014c), this process is 64-bit (x64): Windows cannot load it here; MAPI was not called`,
    );
    expect(err.hint).toMatch(/SMTP/);
    expect(err.hint).toMatch(/32-bit \(ia32\) Node\.js or Electron/);
  });

  test('the reverse: a 64-bit client for a 32-bit process, hint naming x64', async () => {
    const registry = clientRegistry('Microsoft Outlook', { DLLPath: OUTLOOK64, DLLPathEx: OUTLOOK64 });
    const err = await rejection(checkMapiBitness(machine({ [OUTLOOK64]: MACHINE.x64 }, registry), 'simple', 'ia32', { op: 'profiles' }));
    expect(err.code).toBe('MAPI_BITNESS_MISMATCH');
    expect(err.message).toMatch(/^profiles \(MAPI\): Microsoft Outlook's DLLPath .* is 64-bit x64 \(0x8664\), this process is 32-bit \(ia32\)/);
    expect(err.hint).toMatch(/64-bit \(x64\)/);
  });

  test('the mismatch given again in French is French throughout, the DLL machine included', async () => {
    const registry = clientRegistry('Microsoft Outlook', { DLLPath: OUTLOOK64, DLLPathEx: OUTLOOK64 });
    const err = await rejection(checkMapiBitness(machine({ [OUTLOOK64]: MACHINE.x64 }, registry), 'simple', 'ia32'));
    err.localize('fr');
    expect(err.message).toContain('x64 64 bits (0x8664)');
    expect(err.message).not.toMatch(/64-bit/);
  });

  test('a matching DLL passes; so do what cannot be judged (bare name, missing file, not a PE, no client)', async () => {
    await expect(checkMapiBitness(machine({ [OUTLOOK]: MACHINE.x64 }), 'extended', 'x64')).resolves.toBeUndefined();
    // Simple MAPI loads DLLPath: a bare name that Windows finds in its own folders is not judged.
    await expect(checkMapiBitness(machine({ [OUTLOOK]: MACHINE.i386 }), 'simple', 'x64')).resolves.toBeUndefined();
    await expect(checkMapiBitness(machine({}), 'extended', 'x64')).resolves.toBeUndefined();
    const notPe = fakeProbe({ registry: clientRegistry('X', { DLLPathEx: OUTLOOK }), files: { [OUTLOOK]: Buffer.from('not a dll') } });
    await expect(checkMapiBitness(notPe, 'extended', 'x64')).resolves.toBeUndefined();
    await expect(checkMapiBitness(fakeProbe(), 'extended', 'x64')).resolves.toBeUndefined();
  });

  test('each flavour reads its own value first and falls back to the other one', () => {
    const dll = (value: 'DLLPath' | 'DLLPathEx') => ({ value, path: value, absolute: true, exists: true });
    const both = { name: 'c', hive: 'HKLM' as const, keyHive: 'HKLM' as const, openCommand: null, dlls: [dll('DLLPath'), dll('DLLPathEx')] };
    expect(dllFor(both, 'simple')?.value).toBe('DLLPath');
    expect(dllFor(both, 'extended')?.value).toBe('DLLPathEx');
    expect(dllFor({ ...both, dlls: [dll('DLLPath')] }, 'extended')?.value).toBe('DLLPath');
    expect(dllFor({ ...both, dlls: [] }, 'simple')).toBeUndefined();
    expect(bitnessMismatch(undefined, 'c', 'x64')).toBeNull();
  });

  test("HKCU's choice wins, and an OXYMAIL_MAPI_DLL override is checked instead of the registry", async () => {
    const registry = { ...clientRegistry('Thunderbird', { DLLPath: OUTLOOK64 }), ...clientRegistry('Outlook32', { DLLPathEx: OUTLOOK }, 'HKCU') };
    const probe = machine({ [OUTLOOK]: MACHINE.i386, [OUTLOOK64]: MACHINE.x64 }, registry);
    expect((await rejection(checkMapiBitness(probe, 'extended', 'x64'))).message).toMatch(/Outlook32's DLLPathEx/);
    await expect(checkMapiBitness(probe, 'extended', 'x64', { dllPath: OUTLOOK64 })).resolves.toBeUndefined();
    expect((await rejection(checkMapiBitness(probe, 'extended', 'x64', { dllPath: OUTLOOK }))).message).toMatch(/OXYMAIL_MAPI_DLL's DLLPathEx/);
  });
});

describe('the MAPI transport checks before its first MAPI call', () => {
  test('a mismatch rejects the send, and the addon is never asked to send', async () => {
    const calls: string[] = [];
    const binding: NativeBinding = {
      async sendSimple() {
        calls.push('sendSimple');
        throw new Error('must not be called');
      },
      async sendExtended() {
        calls.push('sendExtended');
        throw new Error('must not be called');
      },
    };
    const transport = new MapiTransport({ interface: 'extended', dialog: false });
    transport.native = (): NativeLoad => ({ binding });
    const seen: string[] = [];
    transport.bitness = async (_b, flavour, op) => {
      seen.push(`${flavour}:${op}`);
      await checkMapiBitness(machine({ [OUTLOOK]: MACHINE.i386 }), flavour, 'x64', { op });
    };
    const msg = { to: [{ address: 'a@example.com', name: '' }], cc: [], bcc: [], subject: 's', text: 't', attachments: [] };
    const err = await rejection(transport.sendMessage(msg as never, { importance: undefined, readReceipt: false, deliveryReceipt: false }, {}));
    expect(err.code).toBe('MAPI_BITNESS_MISMATCH');
    expect(seen).toEqual(['extended:send']);
    expect(calls).toEqual([]);
  });
});

describe('a 32-bit process has 32-bit window handles (ulUIParam is a ULONG_PTR)', () => {
  test('ia32: up to 0xffffffff, a larger bigint or 8-byte Buffer is a TypeError; x64 takes 64 bits', () => {
    expect(uiParam(0xffffffffn, 'ia32')).toBe(0xffffffffn);
    expect(() => uiParam(0x100000000n, 'ia32')).toThrow(/out of range \(a 32-bit process has 32-bit window handles\)/);
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(0x100000000n);
    expect(() => uiParam(big, 'ia32')).toThrow(TypeError);
    expect(uiParam(big, 'x64')).toBe(0x100000000n);
    expect(uiParam(0xffffffffffffffffn, 'x64')).toBe(0xffffffffffffffffn);
  });
});
