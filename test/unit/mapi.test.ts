/**
 * The MAPI transport's pure parts, on every OS: temp copies (names, removal, warnings), the error
 * wording for DLL load failures and ANSI refusals, the profile-name limit, and oxymail/testing's
 * registry changes, with fake native bindings and a fake reg.exe.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { listProfiles, MailError } from '../../lib';
import { ansiError, extendedMapiError, mapiLoadError, simpleMapiError, win32FromHresult } from '../../lib/mapi-codes';
import { validateMessage } from '../../lib/message';
import { NativeBinding, NativeLoad, NativeSimpleRequest, NativeSimpleResult } from '../../lib/native';
import { Effective } from '../../lib/transports/compose';
import { MapiTransport, removeTempDir, tempFileName } from '../../lib/transports/mapi';
import { recordingEnv, registerRecordingClient, RegRunner } from '../../lib/testing';

const ok: NativeSimpleResult = {
  status: 0,
  call: 'MAPISendMailW',
  unicode: true,
  win32Error: 0,
  dll: 'C:\\Windows\\System32\\MAPI32.DLL',
  unrepresentable: '',
};

/** A transport whose addon records the requests and answers `answer` (after reading every attachment). */
function fakeTransport(answer: Partial<NativeSimpleResult> = {}, settings: object = {}) {
  const seen: Array<{ request: NativeSimpleRequest; files: Record<string, string> }> = [];
  const binding: NativeBinding = {
    async sendSimple(request) {
      const files: Record<string, string> = {};
      for (const a of request.attachments) files[a.name] = await fs.readFile(a.path, 'utf8');
      seen.push({ request, files });
      return { ...ok, ...answer };
    },
  };
  const transport = new MapiTransport({ interface: 'simple', dialog: false, ...settings });
  transport.native = (): NativeLoad => ({ binding });
  return { transport, seen };
}

const eff: Effective = { importance: undefined, readReceipt: false, deliveryReceipt: false };

describe('temp copies of in-memory attachments', () => {
  test('tempFileName: readable printable ASCII, no reserved or invalid names, extension kept', () => {
    expect(tempFileName('facture 12.pdf')).toBe('facture 12.pdf');
    expect(tempFileName('relevé août.pdf')).toBe('releve aout.pdf');
    expect(tempFileName('zoé 🎉.vcf')).toBe('zoe _.vcf');
    expect(tempFileName('🎉🎉.vcf')).toBe('attachment.vcf');
    expect(tempFileName('отчёт.pdf')).toBe('attachment.pdf');
    expect(tempFileName('Ｆａｃｔｕｒｅ＼..＼x.pdf')).toBe('Facture_.._x.pdf');
    expect(tempFileName('a<b>:c"d/e\\f|g?h*.txt')).toBe('a_b_c_d_e_f_g_h_.txt');
    expect(tempFileName('line\tbreak\u0007.txt')).toBe('line_break_.txt');
    for (const reserved of ['con', 'CON.txt', 'nul', 'Prn.tar.gz', 'aux', 'com1.log', 'LPT9', 'conin$']) {
      expect(tempFileName(reserved)).toBe('_' + reserved);
    }
    expect(tempFileName('console.txt')).toBe('console.txt');
    expect(tempFileName('  rapport .  ')).toBe('rapport');
    expect(tempFileName('')).toBe('attachment');
    expect(tempFileName('.env')).toBe('env');
    const long = tempFileName('x'.repeat(300) + '.docx');
    expect([long.length, long.endsWith('.docx')]).toEqual([80, true]);
    expect(tempFileName('y'.repeat(300))).toBe('y'.repeat(80));
    expect(tempFileName('archive.' + 'z'.repeat(40))).toBe(('archive.' + 'z'.repeat(40)).slice(0, 80));
  });

  test('written whole (Buffer, string, stream) under one folder each, removed after the send, real names passed as names', async () => {
    const { transport, seen } = fakeTransport();
    const msg = await validateMessage({
      to: 'bob@example.com',
      text: 'x',
      attachments: [
        { content: Buffer.from('buffer'), filename: 'same.txt' },
        { content: 'string é', filename: 'same.txt' },
        { content: Readable.from(['str', 'eam']), filename: 'con.txt' },
      ],
    });
    const outcome = await transport.sendMessage(msg, eff, {});
    expect(outcome).toEqual({ unicode: true, savedToSent: true, warnings: [] });
    const { request } = seen[0];
    expect(request.attachments.map((a) => [a.name, path.basename(path.dirname(a.path)), path.basename(a.path)])).toEqual([
      ['same.txt', '0', 'same.txt'],
      ['same.txt', '1', 'same.txt'],
      ['con.txt', '2', '_con.txt'],
    ]);
    expect(seen[0].files).toEqual({ 'same.txt': 'string é', 'con.txt': 'stream' });
    for (const a of request.attachments) expect(existsSync(path.dirname(path.dirname(a.path)))).toBe(false);
  });

  test('a failing stream: its error is the outcome, the other copies finish first, the folder is removed, the addon not called', async () => {
    const { transport, seen } = fakeTransport();
    let slowDone = false;
    async function* slow() {
      await new Promise((resolve) => setTimeout(resolve, 200));
      yield 'late';
      slowDone = true;
    }
    async function* broken() {
      yield 'part';
      throw new Error('source gone');
    }
    let removed = '';
    transport.removeTemp = async (dir) => {
      expect(slowDone).toBe(true);
      removed = dir;
      await removeTempDir(dir);
    };
    const msg = await validateMessage({
      to: 'bob@example.com',
      text: 'x',
      attachments: [
        { content: Readable.from(broken()), filename: 'broken.txt' },
        { content: Readable.from(slow()), filename: 'slow.txt' },
      ],
    });
    await expect(transport.sendMessage(msg, eff, {})).rejects.toMatchObject({
      code: 'ATTACHMENT_NOT_FOUND',
      message: 'send (MAPI): attachments[0] (broken.txt) could not be copied to a temp file: source gone',
    });
    expect(seen).toEqual([]);
    expect(removed).toMatch(/oxymail-/);
    expect(existsSync(removed)).toBe(false);
  });

  test('the removal is awaited before the send settles: its failure is a TEMP_CLEANUP_FAILED warning of a sent message', async () => {
    const busy = Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
    const { transport, seen } = fakeTransport();
    let fail!: (err: Error) => void;
    let removing = '';
    transport.removeTemp = (dir) => {
      removing = dir;
      return new Promise((_resolve, reject) => (fail = reject));
    };
    const msg = await validateMessage({ to: 'bob@example.com', text: 'x', attachments: [{ content: 'x', filename: 'a.txt' }] });
    let settled = false;
    const sending = transport.sendMessage(msg, eff, {}).finally(() => (settled = true));
    while (!removing) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    fail(busy);
    expect(await sending).toEqual({
      unicode: true,
      savedToSent: true,
      warnings: [
        { code: 'TEMP_CLEANUP_FAILED', message: `the temp copies of in-memory attachments could not be removed (${removing}): EBUSY: resource busy or locked` },
      ],
    });
    expect(path.dirname(path.dirname(seen[0].request.attachments[0].path))).toBe(removing);
    await fs.rm(removing, { recursive: true, force: true });
  });

  test('a failed send whose removal fails too: the send error (code, mapiCode) says which folder was left behind', async () => {
    const busy = Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
    const msg = await validateMessage({ to: 'bob@example.com', text: 'x', attachments: [{ content: 'x', filename: 'a.txt' }] });
    const refused = fakeTransport({ status: 1 });
    let removing = '';
    refused.transport.removeTemp = (dir) => {
      removing = dir;
      return Promise.reject(busy);
    };
    const err: MailError = await refused.transport.sendMessage(msg, eff, {}).catch((e) => e);
    const note = `; also, the temp copies of in-memory attachments could not be removed (${removing}): EBUSY: resource busy or locked`;
    expect(err).toBeInstanceOf(MailError);
    expect(err).toMatchObject({ code: 'MAPI_USER_ABORT', mapiCode: 1, message: simpleMapiError(1, 'MAPISendMailW').message + note });
    // What printing the error shows (its stack) carries the note too.
    expect(err.stack?.split('\n')[0]).toBe(`MailError: ${err.message}`);
    await fs.rm(removing, { recursive: true, force: true });

    // A copy that could not be written: ATTACHMENT_NOT_FOUND stays the error, with the same note.
    const { transport } = fakeTransport();
    transport.removeTemp = (dir) => {
      removing = dir;
      return Promise.reject(busy);
    };
    const broken = await validateMessage({
      to: 'bob@example.com',
      text: 'x',
      attachments: [
        {
          content: Readable.from(
            (async function* () {
              throw new Error('source gone');
            })(),
          ),
          filename: 'b.txt',
        },
      ],
    });
    const copyErr: MailError = await transport.sendMessage(broken, eff, {}).catch((e) => e);
    expect(copyErr).toMatchObject({
      code: 'ATTACHMENT_NOT_FOUND',
      message: `send (MAPI): attachments[0] (b.txt) could not be copied to a temp file: source gone; also, the temp copies of in-memory attachments could not be removed (${removing}): EBUSY: resource busy or locked`,
    });
    await fs.rm(removing, { recursive: true, force: true });

    // Removed as it should be: the error is untouched.
    const clean = fakeTransport({ status: 1 });
    const plain: MailError = await clean.transport.sendMessage(msg, eff, {}).catch((e) => e);
    expect(plain.message).toBe(simpleMapiError(1, 'MAPISendMailW').message);
  });

  test('removeTempDir retries a busy folder 5 times over 1.5 s (100, 200... 500 ms apart), then gives up with the error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'oxymail-unit-'));
    const rm = jest.spyOn(fs, 'rm').mockRejectedValue(Object.assign(new Error('EBUSY'), { code: 'EBUSY' }));
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let outcome: unknown;
      removeTempDir(dir).catch((err) => (outcome = err));
      // Attempt n+1 comes 100 * n ms after attempt n: at 0, 100, 300, 600, 1000 and 1500 ms (fake time).
      let now = 0;
      for (const [at, calls] of [
        [0, 1],
        [99, 1],
        [100, 2],
        [299, 2],
        [300, 3],
        [599, 3],
        [600, 4],
        [1000, 5],
        [1499, 5],
      ] as const) {
        await jest.advanceTimersByTimeAsync(at - now);
        now = at;
        expect({ at, calls: rm.mock.calls.length, outcome }).toEqual({ at, calls, outcome: undefined });
      }
      await jest.advanceTimersByTimeAsync(1);
      expect(rm).toHaveBeenCalledTimes(6);
      expect(outcome).toMatchObject({ code: 'EBUSY' });
      rm.mockClear();
      rm.mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
      await expect(removeTempDir(dir)).rejects.toMatchObject({ code: 'EIO' });
      expect(rm).toHaveBeenCalledTimes(1);
    } finally {
      jest.useRealTimers();
      rm.mockRestore();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('MAPI errors', () => {
  test('win32FromHresult: HRESULT_FROM_WIN32 values only', () => {
    expect(win32FromHresult(0x8007007e)).toBe(126);
    expect(win32FromHresult(0x800700c1)).toBe(193);
    expect(win32FromHresult(-2147024770)).toBe(126); // the same, signed
    expect(win32FromHresult(0x80040111)).toBeUndefined(); // FACILITY_ITF
    expect(win32FromHresult(0x0007007e)).toBeUndefined(); // not a failure
  });

  test('mapiLoadError: the Win32 error and its hint, for Simple and Extended MAPI, sends and profiles', () => {
    const dll = 'C:\\nowhere\\mapi.dll';
    expect(mapiLoadError({ call: 'LoadLibraryW', dll, win32Error: 126 }, 'simple')).toMatchObject({
      code: 'MAPI_UNAVAILABLE',
      message: `send (LoadLibraryW): cannot load ${dll} (Win32 error 126)`,
      hint: expect.stringMatching(/not found/),
    });
    // Extended MAPI reports HRESULT_FROM_WIN32(GetLastError()): the same Win32 error, the same hints.
    expect(mapiLoadError({ call: 'LoadLibraryW', dll, hresult: 0x8007007e }, 'extended')).toMatchObject({
      message: `send (LoadLibraryW): cannot load ${dll} (Win32 error 126)`,
      hint: expect.stringMatching(/not found/),
    });
    expect(mapiLoadError({ call: 'LoadLibraryW', dll, hresult: 0x800700c1 }, 'extended', 'profiles')).toMatchObject({
      message: `profiles (LoadLibraryW): cannot load ${dll} (Win32 error 193)`,
      hint: expect.stringMatching(/same bitness/),
    });
    expect(mapiLoadError({ call: 'GetProcAddress', dll, win32Error: 127 }, 'simple')).toMatchObject({
      message: `send (GetProcAddress): ${dll} does not export Simple MAPI (MAPISendMailW or MAPISendMail, MAPILogon, MAPILogoff) (Win32 error 127)`,
      hint: expect.stringMatching(/default mail program/),
    });
    expect(mapiLoadError({ call: 'GetProcAddress', dll, hresult: 0x8007007f }, 'extended')).toMatchObject({
      message: `send (GetProcAddress): ${dll} does not export Extended MAPI (MAPIInitialize, MAPILogonEx, MAPIAllocateBuffer, HrQueryAllRows) (Win32 error 127)`,
      hint: expect.stringMatching(/no Extended MAPI.*interface 'simple'/),
    });
    expect(mapiLoadError({ call: 'GetProcAddress', dll, hresult: 0x8007007f }, 'extended', 'profiles').message).toBe(
      `profiles (GetProcAddress): ${dll} does not export Extended MAPI (MAPIInitialize, MAPIAdminProfiles, HrQueryAllRows) (Win32 error 127)`,
    );
  });

  test('out of memory on the MAPI thread (std::bad_alloc) names the thread as the call', () => {
    // What native/mapi_thread.cc reports: status 5 / E_OUTOFMEMORY with call "MAPI thread".
    expect(simpleMapiError(5, 'MAPI thread')).toMatchObject({ code: 'MAPI_INSUFFICIENT_MEMORY', message: 'send (MAPI thread): insufficient memory' });
    expect(extendedMapiError(0x8007000e, 'MAPI thread', 'profiles')).toMatchObject({
      code: 'MAPI_NOT_ENOUGH_MEMORY',
      message: 'profiles (MAPI thread): not enough memory (HRESULT 0x8007000E)',
    });
  });

  test('ansiError: names the field and the call, never the password', () => {
    const request = { profile: 'Ｐ', recipients: [{ address: 'a@example.com' }, { address: 'jo\u0109@example.fr' }], attachments: [{ path: 'C:\\Ω\\a.pdf' }] };
    expect(ansiError('attachments[0].path', request)).toMatchObject({
      code: 'MAPI_ANSI_UNREPRESENTABLE',
      message: 'send (MAPISendMail): the attachment path "C:\\Ω\\a.pdf" has characters the Windows ANSI code page cannot hold: nothing was sent',
      hint: expect.stringMatching(/rename the file/),
    });
    expect(ansiError('recipients[1].address', request).message).toMatch(/^send \(MAPISendMail\): the address "jo\u0109@example\.fr" /);
    expect(ansiError('profile', request).message).toMatch(/^send \(MAPILogon\): the profile name "Ｐ" /);
    const password = ansiError('password', { ...request, profile: undefined });
    expect(password.message).toBe('send (MAPILogon): the password has characters the Windows ANSI code page cannot hold: nothing was sent');
    expect(password.hint).toMatch(/interface 'extended'/);
  });

  test('the addon reporting an ANSI refusal becomes that error', async () => {
    const { transport } = fakeTransport({ status: 2, call: 'WideCharToMultiByte', unicode: false, unrepresentable: 'recipients[0].address' });
    const msg = await validateMessage({ to: 'bob@example.com', text: 'x' });
    await expect(transport.sendMessage(msg, eff, {})).rejects.toMatchObject({
      code: 'MAPI_ANSI_UNREPRESENTABLE',
      message: expect.stringMatching(/"bob@example\.com"/),
    });
  });

  test('no addon (off Windows): MAPI_UNAVAILABLE naming the operation, send or profiles', async () => {
    const none = (): NativeLoad => ({ reason: 'MAPI exists only on Windows (this is linux)' });
    const transport = new MapiTransport({ interface: 'simple', dialog: false });
    transport.native = none;
    const msg = await validateMessage({ to: 'bob@example.com', text: 'x' });
    await expect(transport.sendMessage(msg, eff, {})).rejects.toMatchObject({
      code: 'MAPI_UNAVAILABLE',
      message: 'send (MAPI): unavailable: MAPI exists only on Windows (this is linux)',
      hint: expect.stringMatching(/Use SMTP/),
    });
    await expect(listProfiles(none)).rejects.toMatchObject({
      code: 'MAPI_UNAVAILABLE',
      message: 'profiles (MAPI): unavailable: MAPI exists only on Windows (this is linux)',
    });
  });

  test('a profile name over 64 characters is a settings error, found before MAPI is called', async () => {
    const long = fakeTransport({}, { profile: 'p'.repeat(65) });
    const msg = await validateMessage({ to: 'bob@example.com', text: 'x' });
    const err: MailError = await long.transport.sendMessage(msg, eff, {}).then(
      () => {
        throw new Error('sent');
      },
      (e) => e,
    );
    expect(err).toMatchObject({ code: 'INVALID_SETTINGS', problems: [expect.objectContaining({ path: 'mapi.profile' })] });
    expect(err.message).toMatch(/is 65 characters long: MAPI profile names have at most 64/);
    expect(long.seen).toEqual([]);
    const max = fakeTransport({}, { profile: 'p'.repeat(64) });
    await max.transport.sendMessage(msg, eff, {});
    expect(max.seen[0].request.profile).toBe('p'.repeat(64));
  });
});

describe('oxymail/testing registry changes (fake reg.exe)', () => {
  /** An in-memory registry behind a RegRunner: key -> value name ('' default) -> data. */
  function fakeReg(initial: Record<string, Record<string, string>>) {
    const parents = ['hklm\\software', 'hklm\\software\\clients', 'hkcu\\software', 'hkcu\\software\\clients'];
    const keys = new Map([
      ...parents.map((k): [string, Map<string, string>] => [k, new Map()]),
      ...Object.entries(initial).map(([k, v]): [string, Map<string, string>] => [k.toLowerCase(), new Map(Object.entries(v))]),
    ]);
    const reg: RegRunner = async (args) => {
      const [op, key] = args;
      const k = key.toLowerCase();
      const name = args.includes('/ve') ? '' : args[args.indexOf('/v') + 1];
      if (op === 'query') {
        const values = keys.get(k);
        if (!values || (args.includes('/ve') && !values.has(''))) throw new Error('reg query: not found');
        return args.includes('/ve') ? `\r\n${key}\r\n    (Default)    REG_SZ    ${values.get('')}\r\n` : `\r\n${key}\r\n`;
      }
      if (op === 'add') {
        // reg add creates the parent keys too
        const parts = k.split('\\');
        for (let i = 2; i <= parts.length; i++) if (!keys.has(parts.slice(0, i).join('\\'))) keys.set(parts.slice(0, i).join('\\'), new Map());
        if (args.includes('/d')) keys.get(k)!.set(name, args[args.indexOf('/d') + 1]);
        return '';
      }
      if (op === 'delete') {
        if (!keys.has(k)) throw new Error('reg delete: not found');
        if (args.includes('/ve') || args.includes('/v')) keys.get(k)!.delete(name);
        else for (const other of [...keys.keys()]) if (other === k || other.startsWith(k + '\\')) keys.delete(other);
        return '';
      }
      throw new Error(`unexpected reg ${op}`);
    };
    const dump = () => Object.fromEntries([...keys].map(([k, v]) => [k, Object.fromEntries(v)]));
    return { reg, dump };
  }

  const machine = 'hklm\\software\\clients\\mail';
  const user = 'hkcu\\software\\clients\\mail';
  const states: Array<[string, Record<string, Record<string, string>>]> = [
    [
      'HKCU names another client',
      { [machine]: { '': 'Microsoft Outlook' }, [machine + '\\microsoft outlook']: { DLLPath: 'olmapi32.dll' }, [user]: { '': 'Elsewhere' } },
    ],
    ['HKCU key without a default', { [machine]: { '': 'Microsoft Outlook' }, [user]: {} }],
    ['no HKCU key, no HKLM default', { [machine]: {} }],
  ];

  test('recordingEnv: one variable per control given, the expected password included', () => {
    expect(recordingEnv('C:\\ci\\mapi.jsonl')).toEqual({ OXYMAIL_MAPI_RECORD: 'C:\\ci\\mapi.jsonl' });
    expect(recordingEnv('r', { returnCode: 0, returnCodeW: 26, logonReturnCode: 3, sleepMs: 50, password: 'sécret' })).toEqual({
      OXYMAIL_MAPI_RECORD: 'r',
      OXYMAIL_MAPI_RETURN: '0',
      OXYMAIL_MAPI_RETURN_W: '26',
      OXYMAIL_MAPI_LOGON_RETURN: '3',
      OXYMAIL_MAPI_SLEEP_MS: '50',
      OXYMAIL_MAPI_PASSWORD: 'sécret',
    });
  });

  test.each(states)('%s: both set during the test, restored exactly afterwards', async (_title, initial) => {
    const { reg, dump } = fakeReg(initial);
    const before = dump();
    const client = await registerRecordingClient({ reg, dll: 'C:\\pkg\\oxymail_recording_client.dll' });
    const during = dump();
    expect(during[machine]['']).toBe('Oxymail Recording Client');
    expect(during[user]['']).toBe('Oxymail Recording Client');
    expect(during[machine + '\\oxymail recording client']).toEqual({
      '': 'Oxymail Recording Client',
      DLLPath: 'C:\\pkg\\oxymail_recording_client.dll',
      DLLPathEx: 'C:\\pkg\\oxymail_recording_client.dll',
    });
    expect([client.previous, client.previousUser]).toEqual([initial[machine]?.[''] ?? null, initial[user]?.[''] ?? null]);
    await client.unregister();
    expect(dump()).toEqual(before);
  });
});
