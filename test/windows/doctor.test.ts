/**
 * `oxymail doctor` with its real probe in Windows node.exe (the target's arch) under Wine: reg.exe reads the
 * prefix's Software\Clients\Mail, the registered DLL's PE header is read from disk. Cases: the
 * recording client registered (present, the arch of node.exe), no client at all, and a DLL of the other bitness
 * chosen in HKCU (with a DLLPath that does not exist), removed again afterwards.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLIENT_DLL, registerClient, runScenario, TARGET, unregisterClient, wineReg, winPath, wineReady } from './harness';
import { MACHINE, peBytes } from '../doctor/fixtures';

jest.setTimeout(180_000);

const LOCAL = { SESSIONNAME: 'Console', CLIENTNAME: null, CITRIX_METAINFO: null };
// A client of the other bitness than the target's node.exe: 32-bit for x64, 64-bit for ia32.
const THIRTY_TWO = 'Oxymail Doctor Other-Bitness Client';
const OWN = TARGET.arch === 'x64' ? '64-bit x64 (0x8664)' : '32-bit x86 (0x014c)';
const OTHER =
  TARGET.arch === 'x64'
    ? {
        machine: MACHINE.i386,
        title: '32-bit x86 (0x014c), this process is 64-bit (x64)',
        fix: /Run a 32-bit \(ia32\) Node\/Electron to match a 32-bit Office, or install 64-bit Office, or use SMTP\./,
      }
    : {
        machine: MACHINE.x64,
        title: '64-bit x64 (0x8664), this process is 32-bit (ia32)',
        fix: /Run a 64-bit \(x64\) Node\/Electron to match Oxymail Doctor Other-Bitness Client, or use SMTP\./,
      };

interface Case {
  name: string;
  env?: Record<string, string | null>;
  options?: object;
}

async function doctor(cases: Case[]) {
  const { result, run } = await runScenario('doctor', { cases });
  if (result.error) throw new Error(`scenario failed: ${JSON.stringify(result.error)}\n${run.stderr}`);
  expect(result).toMatchObject({ platform: 'win32', arch: TARGET.arch });
  const byName: Record<string, { report: any; text: string }> = {};
  for (const o of result.outcomes) byName[o.name] = o;
  return byName;
}

const line = (report: any, id: string) => report.lines.find((l: any) => l.id === id);

if (wineReady('oxymail doctor, real probe (Wine)')) {
  describe('oxymail doctor, real probe (Wine)', () => {
    beforeAll(() => registerClient('wide'), 300_000);

    afterAll(async () => {
      // Leave the prefix as the other Windows suites expect it: the recording client registered.
      await registerClient('wide');
    });

    test('the recording client registered: found in HKLM, its DLL exists and has the arch of node.exe', async () => {
      const out = await doctor([
        { name: 'local', env: LOCAL },
        { name: 'rds', env: { ...LOCAL, SESSIONNAME: 'RDP-Tcp#2', CLIENTNAME: 'PC-ACCUEIL' } },
        { name: 'citrix', env: { ...LOCAL, SESSIONNAME: 'ICA-CGP#1' } },
      ]);
      const local = out.local.report;
      expect(line(local, 'session')).toMatchObject({ verdict: 'ok', title: 'Local session (SESSIONNAME=Console)' });
      expect(line(local, 'mapi.client')).toMatchObject({ verdict: 'ok', title: 'Default mail client: Oxymail Recording Client (HKLM)' });
      expect(line(local, 'mapi.dllpath')).toEqual({
        id: 'mapi.dllpath',
        verdict: 'ok',
        title: `DLLPath: ${winPath(CLIENT_DLL.wide)}`,
        detail: `${OWN}, the same as this process.`,
      });
      // register-client.sh may also set DLLPathEx (the same DLL): every DLL line must then be ok too.
      expect(local.lines.filter((l: any) => l.id.startsWith('mapi.dll')).every((l: any) => l.verdict === 'ok')).toBe(true);
      expect(local.facts.mapi.client).toMatchObject({ name: 'Oxymail Recording Client', hive: 'HKLM', keyHive: 'HKLM' });
      // The profiles come from MAPIAdminProfiles through the addon (the provider's default: "Outlook").
      expect(line(local, 'mapi.profiles')).toMatchObject({ verdict: 'info', title: 'MAPI profiles: Outlook (default)' });
      expect(local.recommendation.choice).toBe('mapi-or-smtp');
      expect(local.failed).toBe(false);
      expect(out.local.text).toMatch(/^ok {4}Default mail client: Oxymail Recording Client \(HKLM\)$/m);

      // Same machine, remote sessions: the product page's advice wins over a working client.
      expect(line(out.rds.report, 'session')).toMatchObject({
        verdict: 'warn',
        title: 'Remote Desktop session (SESSIONNAME=RDP-Tcp#2)',
        detail: expect.stringMatching(/The user's PC is PC-ACCUEIL\./),
      });
      expect(out.rds.report.recommendation.choice).toBe('smtp');
      expect(line(out.citrix.report, 'session').title).toBe('Citrix session (SESSIONNAME=ICA-CGP#1)');
      expect(out.citrix.report.recommendation.choice).toBe('smtp');
    });

    test('no default mail client: reg.exe finds none in HKCU or HKLM', async () => {
      await unregisterClient();
      try {
        const out = await doctor([{ name: 'none', env: LOCAL, options: { settings: { email: 'zoe@example.fr', customize: true, protocol: 'mapi' } } }]);
        const r = out.none.report;
        expect(line(r, 'mapi.client')).toMatchObject({ verdict: 'fail', title: 'No default mail client' });
        expect(r.facts.mapi).toEqual({ available: true, client: null });
        expect(line(r, 'mapi.profiles')).toBeUndefined();
        expect(r.recommendation).toEqual({ choice: 'smtp', words: 'Use SMTP: MAPI cannot work here (No default mail client).' });
        expect(r.failed).toBe(true);
      } finally {
        await registerClient('wide');
      }
    });

    test('a DLL of the other bitness chosen in HKCU, with a DLLPath that does not exist: both reported, then removed', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-doctor-'));
      const dll32 = path.join(dir, 'legacy32.dll');
      fs.writeFileSync(dll32, peBytes(OTHER.machine));
      const gone = path.join(dir, 'removed.dll');
      const clientKey = `HKLM\\Software\\Clients\\Mail\\${THIRTY_TWO}`;
      const userKey = 'HKCU\\Software\\Clients\\Mail';
      const userKeyExisted = (await wineReg(['query', userKey])) === 0;
      try {
        await wineReg(['add', clientKey, '/ve', '/d', THIRTY_TWO, '/f']);
        await wineReg(['add', clientKey, '/v', 'DLLPath', '/d', winPath(gone), '/f']);
        await wineReg(['add', clientKey, '/v', 'DLLPathEx', '/d', winPath(dll32), '/f']);
        await wineReg(['add', userKey, '/ve', '/d', THIRTY_TWO, '/f']);
        const out = await doctor([{ name: 'mismatch', env: LOCAL }]);
        const r = out.mismatch.report;
        // HKCU's choice overrides HKLM's (where the recording client is still the default).
        expect(line(r, 'mapi.client')).toMatchObject({ verdict: 'ok', title: `Default mail client: ${THIRTY_TWO} (HKCU)` });
        expect(line(r, 'mapi.dllpath')).toMatchObject({ verdict: 'warn', title: `DLLPath ${winPath(gone)} does not exist` });
        expect(line(r, 'mapi.dllpathex')).toMatchObject({
          verdict: 'warn',
          title: `${THIRTY_TWO}'s DLLPathEx is ${OTHER.title}`,
          detail: expect.stringMatching(OTHER.fix),
        });
        expect(r.recommendation.choice).toBe('smtp');
      } finally {
        if (userKeyExisted) await wineReg(['delete', userKey, '/ve', '/f']);
        else await wineReg(['delete', userKey, '/f']);
        await wineReg(['delete', clientKey, '/f']);
        fs.rmSync(dir, { recursive: true, force: true });
      }
      // Nothing left behind: HKCU names no client again, the other-bitness client's key is gone.
      expect(await wineReg(['query', clientKey])).not.toBe(0);
      const after = await doctor([{ name: 'after', env: LOCAL }]);
      expect(line(after.after.report, 'mapi.client').title).toBe('Default mail client: Oxymail Recording Client (HKLM)');
    });
  });
}
