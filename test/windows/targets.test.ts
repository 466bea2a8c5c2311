/**
 * The shipped binaries on every Windows node they ship for: on Linux, each target of
 * scripts/win/targets.json under Wine (x64 with Windows Node 22 and 20, ia32 with node-win-x86 22
 * through WoW64); on a Windows runner, the Node.js running jest (the workflow's x64 and ia32 legs).
 * The addon and oxymail/testing come from the packed tarball installed into a scratch app; the
 * recording client of the node's own arch is registered through oxymail/testing. Per target:
 * - Simple and Extended MAPI through the raw addon and through the public API, Unicode and an
 *   attachment included, checked on what the mail client received;
 * - the same public-API send from node.exe copied as Oxygene.exe (the addon resolves Node-API from
 *   the host executable, whatever its name);
 * - the other arch's client registered: MAPI_BITNESS_MISMATCH for Simple, Extended and the profile
 *   list, and the client never called (no record at all).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { clientOf, lockPrefix, missingBanner, NATIVE_WINDOWS, PACKAGE, runScenario, TARGETS, unlockPrefix, wineAvailable, WinTarget, winPath } from './harness';

jest.setTimeout(180_000);

const SUBJECT = 'Facture n° 42 — été 🎉';
const BODY = 'Bonjour Zoé,\r\nci-joint la facture.\r\n';
const ZOE = { recipClass: 1, name: 'Zoé Lefèvre', address: 'zoe@example.fr' };
const MESSAGE = { to: 'Zoé Lefèvre <zoe@example.fr>', subject: SUBJECT, text: BODY, attachments: [{ filename: 'récap été.txt', content: 'ligne 1\n' }] };
const settings = (iface: 'simple' | 'extended') => ({ email: 'compta@example.fr', customize: true, protocol: 'mapi', mapi: { interface: iface } });

/** Why this machine cannot run the suite, or null. */
function notReady(): string | null {
  if (NATIVE_WINDOWS)
    return fs.existsSync(path.join(PACKAGE, 'package.json')) ? null : `the packed tarball is not installed at ${PACKAGE} (set OXYMAIL_TEST_APP)`;
  const w = wineAvailable();
  return w.ok ? null : (w.why ?? 'unknown');
}

/** The other arch's recording client, from the installed package: a DLL this node cannot load. */
const otherClient = (t: WinTarget) => path.join(PACKAGE, 'prebuilds', `win32-${t.arch === 'x64' ? 'ia32' : 'x64'}`, 'oxymail_recording_client.dll');

/** Runs scenarios/targets.js on a target: `steps(dir)` get a record file each. */
async function run(t: WinTarget, build: (dir: string) => { steps: object[]; dll?: string }, nodeExe?: string) {
  const { result, run: r } = await runScenario(
    'targets',
    (dir: string) => {
      const input = build(dir);
      return { ...input, steps: input.steps.map((s, i) => ({ ...s, record: winPath(path.join(dir, `step${i}.jsonl`)) })) };
    },
    {},
    120_000,
    t,
    nodeExe,
  );
  if (result.error) throw new Error(`targets scenario failed on ${t.id}: ${JSON.stringify(result.error)}\n${r.stderr}`);
  return result;
}

const why = notReady();
if (why !== null) {
  describe('Windows targets', () => {
    test('needs the Windows node(s) and the installed package: see the banner', () => {
      const banner = missingBanner(why);
      console.warn(banner);
      if (process.env.CI) throw new Error(banner);
    });
  });
} else {
  if (!NATIVE_WINDOWS) {
    beforeAll(lockPrefix, 30 * 60_000);
    afterAll(unlockPrefix);
  }

  describe.each(TARGETS.map((t) => [t.id, t] as const))('%s', (_id, target) => {
    test('Simple and Extended MAPI, raw addon and public API, against the recording client of its arch (registered by oxymail/testing)', async () => {
      const result = await run(target, (dir) => {
        const file = path.join(dir, 'récap été.txt');
        fs.writeFileSync(file, 'ligne 1\n');
        const attachments = [{ path: winPath(file), name: 'récap été.txt' }];
        return {
          steps: [
            { simple: { subject: SUBJECT, body: BODY, recipients: [ZOE], attachments } },
            { extended: { subject: SUBJECT, body: BODY, recipients: [ZOE], attachments } },
            { api: { settings: settings('simple'), message: MESSAGE } },
            { api: { settings: settings('extended'), message: MESSAGE } },
          ],
        };
      });
      expect(result.host).toMatchObject({ arch: target.arch });
      expect(result.dll.toLowerCase()).toBe(winPath(clientOf(target.arch).wide).toLowerCase());
      const [simple, extended, apiSimple, apiExtended] = result.steps;

      expect(simple.result).toMatchObject({ status: 0, call: 'MAPISendMailW', unicode: true });
      expect(simple.records).toEqual([
        expect.objectContaining({
          fn: 'MAPISendMailW',
          subject: SUBJECT,
          body: BODY,
          recipients: [{ class: 1, name: 'Zoé Lefèvre', address: 'SMTP:zoe@example.fr' }],
          attachments: [expect.objectContaining({ name: 'récap été.txt', size: 8 })],
        }),
      ]);

      expect(extended.result).toMatchObject({ hresult: 0, call: 'IMessage::SubmitMessage', savedToSent: true });
      const fns = extended.records.map((r: any) => r.fn);
      expect(fns).toEqual(
        expect.arrayContaining([
          'MAPIInitialize',
          'MAPILogonEx',
          'IMessage::SetProps',
          'IMessage::ModifyRecipients',
          'IMessage::CreateAttach',
          'IMessage::SubmitMessage',
        ]),
      );
      const props = extended.records.find((r: any) => r.fn === 'IMessage::SetProps');
      expect(JSON.stringify(props)).toContain(SUBJECT);

      expect(apiSimple.error).toBeUndefined();
      expect(apiSimple.result).toMatchObject({ protocol: 'mapi', accepted: ['zoe@example.fr'] });
      expect(apiSimple.records[0]).toMatchObject({
        fn: 'MAPISendMailW',
        subject: SUBJECT,
        attachments: [expect.objectContaining({ name: 'récap été.txt', size: 8 })],
      });
      expect(apiExtended.error).toBeUndefined();
      expect(apiExtended.result).toMatchObject({ protocol: 'mapi', accepted: ['zoe@example.fr'] });
      expect(apiExtended.records.map((r: any) => r.fn)).toContain('IMessage::SubmitMessage');
    });

    test('a host executable named Oxygene.exe: the addon loads and sends through the public API', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-host-'));
      const oxygene = path.join(dir, 'Oxygene.exe');
      fs.copyFileSync(target.nodeExe, oxygene);
      try {
        const result = await run(
          target,
          () => ({ steps: [{ api: { settings: settings('extended'), message: MESSAGE } }, { api: { settings: settings('simple'), message: MESSAGE } }] }),
          oxygene,
        );
        expect(result.host.execPath.toLowerCase()).toBe(winPath(oxygene).toLowerCase());
        for (const step of result.steps) {
          expect(step.error).toBeUndefined();
          expect(step.result).toMatchObject({ protocol: 'mapi', accepted: ['zoe@example.fr'] });
          expect(step.records.length).toBeGreaterThan(0);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("the other arch's mail client registered: MAPI_BITNESS_MISMATCH with a hint, the client never called", async () => {
      const other = target.arch === 'x64' ? 'ia32' : 'x64';
      const result = await run(target, () => ({
        dll: winPath(otherClient(target)),
        steps: [{ api: { settings: settings('simple'), message: MESSAGE } }, { api: { settings: settings('extended'), message: MESSAGE } }, { profiles: true }],
      }));
      const bits = { x64: '64-bit x64 \\(0x8664\\)', ia32: '32-bit x86 \\(0x014c\\)' };
      const proc = { x64: '64-bit \\(x64\\)', ia32: '32-bit \\(ia32\\)' };
      const [simple, extended, profiles] = result.steps;
      for (const [step, value, op] of [
        [simple, 'DLLPath', 'send'],
        [extended, 'DLLPathEx', 'send'],
        [profiles, 'DLLPathEx', 'profiles'],
      ] as const) {
        expect(step.error).toMatchObject({ code: 'MAPI_BITNESS_MISMATCH', name: 'MailError' });
        expect(step.error.message).toMatch(
          new RegExp(
            `^${op} \\(MAPI\\): Oxymail Recording Client's ${value} \\(.*oxymail_recording_client\\.dll\\) is ${bits[other]}, this process is ${proc[target.arch]}`,
          ),
        );
        expect(step.error.hint).toMatch(new RegExp(`SMTP.*\\(${other}\\) Node\\.js or Electron`));
        // MAPI was never called: the client would have written its record file on any call.
        expect(step.recordExists).toBe(false);
      }
    });
  });
}
