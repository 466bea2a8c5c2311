/**
 * The check a MAPI send makes before its first MAPI call: can this process load the mail client's
 * DLL at all? A 64-bit process cannot load a 32-bit MAPI provider (the default Office install) and
 * the reverse; MAPI32 then fails late and vaguely (MAPI_E_NOT_SUPPORTED, 0x80040605), and on real
 * Windows its stub may show a modal message box that blocks the one MAPI thread. So the registered
 * DLLPath / DLLPathEx is read first (the registry as this process sees it, the DLL's PE header)
 * and a mismatch is MAPI_BITNESS_MISMATCH, with MAPI never called.
 * The decision (bitnessMismatch) is pure and tested on every OS; reading goes through a ClientReader.
 */
import { MailError } from '../errors';
import { MessageKey, Text, text } from '../i18n';
import { ClientReader, DllFact, MailClientFacts, readDefaultClient, readDll } from './facts';
import { machineText, PE_MACHINES } from './pe';

/** Which MAPI a send uses: Simple MAPI loads the client's DLLPath, Extended MAPI its DLLPathEx. */
export type MapiFlavour = 'simple' | 'extended';

const BITS: Record<string, MessageKey> = { ia32: 'doctor.bits.ia32', x64: 'doctor.bits.x64', arm64: 'doctor.bits.arm64' };

/**
 * The DLL MAPI32 loads for this flavour: DLLPathEx for Extended MAPI, DLLPath for Simple MAPI, each
 * falling back to the other when the client registers only one.
 */
export function dllFor(client: MailClientFacts, flavour: MapiFlavour): DllFact | undefined {
  const order = flavour === 'extended' ? ['DLLPathEx', 'DLLPath'] : ['DLLPath', 'DLLPathEx'];
  for (const value of order) {
    const d = client.dlls.find((x) => x.value === value);
    if (d) return d;
  }
  return undefined;
}

/** The hint for a mismatch: SMTP, or a Node/Electron of the client's bitness. */
export function bitnessHint(dllArch: string | null): Text {
  const node =
    dllArch && BITS[dllArch] ? text('MAPI_BITNESS_MISMATCH.node', { bits: text(BITS[dllArch]), arch: dllArch }) : text('MAPI_BITNESS_MISMATCH.anyNode');
  return text('MAPI_BITNESS_MISMATCH.hint', { node });
}

/**
 * Pure: the MAPI_BITNESS_MISMATCH error when the DLL this send would load is a PE image of another
 * architecture than `arch`; null when it matches, or when nothing can be said (no DLL registered, a
 * bare name Windows finds itself, a missing or unreadable file: MAPI reports those itself).
 */
export function bitnessMismatch(dll: DllFact | undefined, client: string, arch: string, op = 'send'): MailError | null {
  if (!dll || !dll.pe || !dll.pe.ok) return null;
  const want = Object.entries(PE_MACHINES).find(([, a]) => a === arch)?.[0];
  if (want !== undefined && Number(want) === dll.pe.machine) return null;
  const procBits = BITS[arch] ? text(BITS[arch]) : arch;
  // The machine as a Text too, so that err.localize() gives the whole message again.
  return new MailError(
    'MAPI_BITNESS_MISMATCH',
    text('MAPI_BITNESS_MISMATCH', { op, client, value: dll.value, path: dll.path, machine: machineText(dll.pe.machine), bits: procBits, arch }),
    { protocol: 'mapi', hint: bitnessHint(dll.pe.arch) },
  );
}

/**
 * Reads what MAPI32 would load and throws MAPI_BITNESS_MISMATCH on a mismatch. `dllPath` (the
 * OXYMAIL_MAPI_DLL override) is checked instead of the registry when set. A registry that cannot be
 * read decides nothing: MAPI then reports what it finds.
 */
export async function checkMapiBitness(
  reader: ClientReader,
  flavour: MapiFlavour,
  arch: string,
  options: { dllPath?: string; op?: string } = {},
): Promise<void> {
  let dll: DllFact | undefined;
  let client: string;
  if (options.dllPath) {
    dll = await readDll(reader, flavour === 'extended' ? 'DLLPathEx' : 'DLLPath', options.dllPath);
    client = 'OXYMAIL_MAPI_DLL';
  } else {
    const found = await readDefaultClient(reader).catch(() => null);
    if (!found) return;
    dll = dllFor(found, flavour);
    client = found.name;
  }
  const mismatch = bitnessMismatch(dll, client, arch, options.op);
  if (mismatch) throw mismatch;
}
