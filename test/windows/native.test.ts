/**
 * The raw addon (prebuilds/win32-x64/oxymail.napi.node) under Wine, against
 * the recording mail client (test/fixtures/mapi-client). Each test runs a
 * scenario script with Windows node.exe and reads back what the client saw.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CLIENT_DLL, registerClient, runScenario, TARGET, unregisterClient, winPath, wineReady, prepareWine } from './harness';

jest.setTimeout(120_000);

const to = (name: string, address: string) => ({ recipClass: 1, name, address });

if (wineReady('Windows native suite (Wine)')) {
  describe('Windows native suite (Wine): Simple MAPI', () => {
    beforeAll(prepareWine, 300_000);

    test('Unicode subject, body, names and attachments reach MAPISendMailW through MAPI32', async () => {
      const subject = 'Réunion de l’équipe — déjà prévue 🎉';
      const body = 'Bonjour Zoé,\r\nvoici le récapitulatif 📎.\r\n\tÀ bientôt\u0001';
      const { result, records } = await runScenario('send', (dir: string) => {
        fs.writeFileSync(path.join(dir, 'récap 🎉.txt'), 'été\n');
        fs.writeFileSync(path.join(dir, 'tmp-0001.bin'), Buffer.alloc(1234, 7));
        return {
          steps: [
            {
              request: {
                subject,
                body,
                uiParam: '4660',
                readReceipt: true,
                recipients: [
                  to('Zoé Lefèvre', 'zoe@example.fr'),
                  { recipClass: 2, name: 'Ça Cc', address: 'cc@example.fr' },
                  { recipClass: 3, name: 'bcc@example.fr', address: 'bcc@example.fr' },
                ],
                attachments: [
                  { path: winPath(path.join(dir, 'récap 🎉.txt')), name: 'récap 🎉.txt' },
                  { path: winPath(path.join(dir, 'tmp-0001.bin')), name: 'Rapport été.pdf' },
                  { path: winPath(path.join(dir, 'absent.txt')), name: 'absent.txt' },
                ],
              },
            },
          ],
        };
      });
      expect(result.results).toEqual([
        { status: 0, call: 'MAPISendMailW', unicode: true, win32Error: 0, dll: expect.stringMatching(/mapi32\.dll$/i), unrepresentable: '' },
      ]);
      expect(records).toHaveLength(1);
      const r = records[0];
      expect(r).toMatchObject({
        fn: 'MAPISendMailW',
        unicode: true,
        session: 0,
        uiParam: '4660',
        flags: 0,
        msgFlags: 2, // MAPI_RECEIPT_REQUESTED
        subject,
        body,
        recipients: [
          { class: 1, name: 'Zoé Lefèvre', address: 'SMTP:zoe@example.fr' },
          { class: 2, name: 'Ça Cc', address: 'SMTP:cc@example.fr' },
          { class: 3, name: 'bcc@example.fr', address: 'SMTP:bcc@example.fr' },
        ],
      });
      expect(r.attachments).toEqual([
        { path: expect.stringMatching(/\\récap 🎉\.txt$/), name: 'récap 🎉.txt', position: -1, size: Buffer.byteLength('été\n') },
        { path: expect.stringMatching(/\\tmp-0001\.bin$/), name: 'Rapport été.pdf', position: -1, size: 1234 },
        { path: expect.stringMatching(/\\absent\.txt$/), name: 'absent.txt', position: -1, size: null },
      ]);
    });

    test('dialog and logon-UI flags, read receipt off', async () => {
      const base = { subject: 's', recipients: [to('a', 'a@example.fr')] };
      const { records } = await runScenario('send', {
        steps: [
          { request: { ...base } },
          { request: { ...base, dialog: true } },
          { request: { ...base, logonUI: true } },
          { request: { ...base, dialog: true, logonUI: true } },
        ],
      });
      // MAPI_DIALOG 0x8, MAPI_LOGON_UI 0x1; never MAPI_NEW_SESSION without a logon.
      expect(records.map((r) => [r.fn, r.flags, r.msgFlags])).toEqual([
        ['MAPISendMailW', 0, 0],
        ['MAPISendMailW', 8, 0],
        ['MAPISendMailW', 1, 0],
        ['MAPISendMailW', 9, 0],
      ]);
    });

    test('profile + password: MAPILogon(NEW_SESSION), send on that session, MAPILogoff; uiParam passes through', async () => {
      // The largest ULONG_PTR of the target's arch (test/windows/targets.test.ts: a larger one is a TypeError on ia32).
      const max = TARGET.arch === 'ia32' ? '4294967295' : '18446744073709551615';
      const base = { subject: 's', recipients: [to('a', 'a@example.fr')] };
      const { result, records } = await runScenario('send', {
        steps: [
          // The client accepts only OXYMAIL_MAPI_PASSWORD: each logon below proves its password arrived exactly.
          { env: { OXYMAIL_MAPI_PASSWORD: 'mot de passé' }, request: { ...base, profile: 'Profil Été', password: 'mot de passé', uiParam: max } },
          { env: { OXYMAIL_MAPI_PASSWORD: 'pw' }, request: { ...base, profile: 'Outlook', password: 'pw', logonUI: true, dialog: true, uiParam: '65538' } },
          { env: { OXYMAIL_MAPI_PASSWORD: 'only-password' }, request: { ...base, password: 'only-password' } },
          { env: { OXYMAIL_MAPI_PASSWORD: null }, request: { ...base, profile: 'Profil nu' } },
        ],
      });
      expect(result.results.map((r: any) => [r.status, r.call])).toEqual([
        [0, 'MAPISendMailW'],
        [0, 'MAPISendMailW'],
        [0, 'MAPISendMailW'],
        [0, 'MAPISendMailW'],
      ]);
      expect(records.map((r) => r.fn)).toEqual(Array(4).fill(['MAPILogon', 'MAPISendMailW', 'MAPILogoff']).flat());
      const [l1, s1, o1, l2, s2, o2, l3, , , l4] = records;
      expect(l1).toMatchObject({ uiParam: max, profile: 'Profil Été', passwordSet: true, passwordMatches: true, flags: 2 });
      expect(l1.session).toBeGreaterThan(0);
      expect(s1).toMatchObject({ session: l1.session, uiParam: max, flags: 0 });
      expect(o1).toMatchObject({ session: l1.session, uiParam: max });
      // MAPI_NEW_SESSION | MAPI_LOGON_UI on logon; MAPI_LOGON_UI | MAPI_DIALOG on send.
      expect(l2).toMatchObject({ uiParam: '65538', profile: 'Outlook', passwordSet: true, passwordMatches: true, flags: 3 });
      expect(s2).toMatchObject({ session: l2.session, flags: 9 });
      expect(o2.session).toBe(l2.session);
      expect(l3).toMatchObject({ profile: null, passwordSet: true, passwordMatches: true, flags: 2 });
      // No password given: none passed (NULL), nothing to compare.
      expect(l4).toMatchObject({ profile: 'Profil nu', passwordSet: false, flags: 2 });
      expect(l4).not.toHaveProperty('passwordMatches');
      // The record files end up as CI artifacts: no password in them, in any form.
      for (const r of records) expect(r).not.toHaveProperty('password');
      expect(JSON.stringify(records)).not.toMatch(/mot de pass|"pw"|only-password/);
    });

    test('mail-client return codes come back with the call that produced them', async () => {
      const base = { subject: 's', recipients: [to('a', 'a@example.fr')] };
      const steps = [1, 3, 11, 14, 26].map((code) => ({ env: { OXYMAIL_MAPI_RETURN: code }, request: base }));
      const { result, records } = await runScenario('send', {
        steps: [
          ...steps,
          { env: { OXYMAIL_MAPI_RETURN: 0, OXYMAIL_MAPI_LOGON_RETURN: 3 }, request: { ...base, profile: 'p' } },
          { env: { OXYMAIL_MAPI_LOGON_RETURN: null }, request: base },
        ],
      });
      expect(result.results.map((r: any) => [r.status, r.call, r.unicode])).toEqual([
        [1, 'MAPISendMailW', true],
        [3, 'MAPISendMailW', true],
        [11, 'MAPISendMailW', true],
        [14, 'MAPISendMailW', true],
        // MAPI_E_NOT_SUPPORTED from W: MAPISendMail is tried, and answers the same here.
        [26, 'MAPISendMail', false],
        [3, 'MAPILogon', true],
        [0, 'MAPISendMailW', true],
      ]);
      // A failed logon sends nothing and logs nothing off.
      expect(records.map((r) => r.fn)).toEqual([
        'MAPISendMailW',
        'MAPISendMailW',
        'MAPISendMailW',
        'MAPISendMailW',
        'MAPISendMailW',
        'MAPISendMail',
        'MAPILogon',
        'MAPISendMailW',
      ]);
    });

    test('ANSI fallback: a client without MAPISendMailW gets MAPISendMail in the code page', async () => {
      const { result, records } = await runScenario('send', (dir: string) => {
        fs.writeFileSync(path.join(dir, 'pièce.txt'), 'abc');
        return {
          steps: [
            {
              request: {
                dllPath: winPath(CLIENT_DLL.ansi),
                subject: 'Été 🎉',
                body: 'café',
                readReceipt: true,
                recipients: [to('Zoé', 'zoe@example.fr'), { recipClass: 3, name: 'b', address: 'b@example.fr' }],
                attachments: [{ path: winPath(path.join(dir, 'pièce.txt')), name: 'pièce.txt' }],
              },
            },
            { request: { dllPath: winPath(CLIENT_DLL.ansi), subject: 's', profile: 'P', password: 'x' } },
          ],
        };
      });
      expect(result.results).toEqual([
        { status: 0, call: 'MAPISendMail', unicode: false, win32Error: 0, dll: winPath(CLIENT_DLL.ansi), unrepresentable: '' },
        { status: 0, call: 'MAPISendMail', unicode: false, win32Error: 0, dll: winPath(CLIENT_DLL.ansi), unrepresentable: '' },
      ]);
      // Code page 1252 keeps the accents; the emoji (two UTF-16 units) becomes "??".
      expect(records[0]).toMatchObject({
        fn: 'MAPISendMail',
        unicode: false,
        subject: 'Été ??',
        body: 'café',
        msgFlags: 2,
        recipients: [
          { class: 1, name: 'Zoé', address: 'SMTP:zoe@example.fr' },
          { class: 3, name: 'b', address: 'SMTP:b@example.fr' },
        ],
        attachments: [{ path: expect.stringMatching(/\\pièce\.txt$/), name: 'pièce.txt', position: -1, size: 3 }],
      });
      expect(records.slice(1).map((r) => r.fn)).toEqual(['MAPILogon', 'MAPISendMail', 'MAPILogoff']);
      expect(records[2].session).toBe(records[1].session);
    });

    test('MAPISendMailW refusing Unicode (27) or not supported (26): the same message again through MAPISendMail', async () => {
      const base = { subject: 'Été 🎉', body: 'café', recipients: [to('Zoé', 'zoe@example.fr')] };
      const { result, records } = await runScenario('send', {
        steps: [
          { env: { OXYMAIL_MAPI_RETURN_W: 27 }, request: base },
          { env: { OXYMAIL_MAPI_RETURN_W: 26 }, request: { ...base, profile: 'P', password: 'x' } },
          // Any other failure of W is the answer: no second try.
          { env: { OXYMAIL_MAPI_RETURN_W: 1 }, request: base },
          { env: { OXYMAIL_MAPI_RETURN_W: 27, OXYMAIL_MAPI_RETURN: 14 }, request: base },
        ],
      });
      expect(result.results.map((r: any) => [r.status, r.call, r.unicode])).toEqual([
        [0, 'MAPISendMail', false],
        [0, 'MAPISendMail', false],
        [1, 'MAPISendMailW', true],
        [14, 'MAPISendMail', false],
      ]);
      expect(records.map((r) => [r.fn, r.return])).toEqual([
        ['MAPISendMailW', 27],
        ['MAPISendMail', 0],
        ['MAPILogon', 0],
        ['MAPISendMailW', 26],
        ['MAPISendMail', 0],
        ['MAPILogoff', undefined],
        ['MAPISendMailW', 1],
        ['MAPISendMailW', 27],
        ['MAPISendMail', 14],
      ]);
      // The ANSI retry carries the same message, on the same session.
      expect(records[1]).toMatchObject({ subject: 'Été ??', body: 'café', recipients: [{ class: 1, name: 'Zoé', address: 'SMTP:zoe@example.fr' }] });
      expect([records[3].session, records[4].session, records[5].session]).toEqual([records[2].session, records[2].session, records[2].session]);
    });

    test('ANSI: no best-fit mapping; a path, address or profile the code page cannot hold is refused, nothing sent', async () => {
      const ansi = winPath(CLIENT_DLL.ansi);
      const base = { dllPath: ansi, subject: 's', recipients: [to('a', 'a@example.fr')] };
      const { result, records } = await runScenario('send', (dir: string) => {
        fs.writeFileSync(path.join(dir, 'ok.txt'), 'abc');
        return {
          steps: [
            // U+FF3C FULLWIDTH REVERSE SOLIDUS: best-fit would make it a real \ and attach C:\x\secret.txt.
            {
              request: {
                ...base,
                attachments: [
                  { path: winPath(path.join(dir, 'ok.txt')), name: 'ok.txt' },
                  { path: 'C:\\x\uff3csecret.txt', name: 'secret.txt' },
                ],
              },
            },
            { request: { ...base, recipients: [to('a', 'a@example.fr'), to('Jo', 'jo\u0109@example.fr')] } },
            { request: { ...base, profile: 'Compta\uff3c1', password: 'x' } },
            { request: { ...base, profile: 'Compta', password: 'pass\u03a9' } },
            // Text is only lossy: '?' (never a best-fit look-alike), file names get '_'.
            {
              request: {
                ...base,
                subject: 'Ｆａｃｔｕｒｅ ∞ été',
                attachments: [{ path: winPath(path.join(dir, 'ok.txt')), name: 'Ωmega 🎉.txt' }],
              },
            },
          ],
        };
      });
      expect(result.results.map((r: any) => [r.status, r.call, r.unicode, r.unrepresentable])).toEqual([
        [2, 'WideCharToMultiByte', false, 'attachments[1].path'],
        [2, 'WideCharToMultiByte', false, 'recipients[1].address'],
        [2, 'WideCharToMultiByte', false, 'profile'],
        [2, 'WideCharToMultiByte', false, 'password'],
        [0, 'MAPISendMail', false, ''],
      ]);
      // Nothing reached the client for the refused ones: no send, not even a logon.
      expect(records.map((r) => r.fn)).toEqual(['MAPISendMail']);
      expect(records[0]).toMatchObject({ subject: '??????? ? été', attachments: [{ name: '_mega __.txt', size: 3 }] });
    });

    test('LoadLibraryW and GetProcAddress failures report the Win32 error', async () => {
      const { result } = await runScenario('send', {
        steps: [
          { request: { dllPath: 'Z:\\no\\such\\mapi.dll', subject: 's' } },
          // Loads fine but exports no MAPI function.
          { request: { dllPath: 'C:\\windows\\system32\\kernel32.dll', subject: 's' } },
        ],
      });
      expect(result.results).toEqual([
        { status: 2, call: 'LoadLibraryW', unicode: false, win32Error: 126, dll: 'Z:\\no\\such\\mapi.dll', unrepresentable: '' },
        { status: 2, call: 'GetProcAddress', unicode: false, win32Error: 127, dll: expect.stringMatching(/kernel32\.dll$/i), unrepresentable: '' },
      ]);
    });

    describe('default mail client registration', () => {
      afterAll(() => registerClient('wide'));

      test("no default mail client: Wine's MAPI32 answers MAPI_E_NOT_SUPPORTED (26)", async () => {
        await unregisterClient();
        const base = { subject: 's', recipients: [to('a', 'a@example.fr')] };
        const { result, records } = await runScenario('send', {
          steps: [{ request: base }, { request: { ...base, profile: 'p', password: 'x' } }, { request: { ...base, dialog: true } }],
        });
        // Wine's MAPILogon stub succeeds without a client, so even the logon
        // case fails at the send; MAPISendMailW's 26 makes the addon try
        // MAPISendMail, which answers the same.
        expect(result.results.map((r: any) => [r.status, r.call, r.unicode])).toEqual([
          [26, 'MAPISendMail', false],
          [26, 'MAPISendMail', false],
          [26, 'MAPISendMail', false],
        ]);
        expect(records).toEqual([]);
      });

      test("ANSI-only default client: Wine's MAPI32 converts MAPISendMailW to MAPISendMail", async () => {
        await registerClient('ansi');
        const { result, records } = await runScenario('send', {
          steps: [{ request: { subject: 'déjà', recipients: [to('a', 'a@example.fr')] } }],
        });
        // `unicode` says what the addon called, not what the client received.
        expect(result.results[0]).toMatchObject({ status: 0, call: 'MAPISendMailW', unicode: true });
        expect(records.map((r) => [r.fn, r.subject])).toEqual([['MAPISendMail', 'déjà']]);
      });
    });

    test('the event loop keeps running during a slow send', async () => {
      // The client holds the send until a file exists that only a setInterval callback creates, after 10 ticks.
      const { result, records } = await runScenario('event_loop', (dir: string) => {
        const release = winPath(path.join(dir, 'release'));
        return { release, releaseAfterTicks: 10, request: { subject: 'slow', recipients: [to('a', 'a@example.fr')] } };
      });
      expect(result.result.status).toBe(0);
      expect(result.ticksAtRelease).toBe(10);
      expect(result.ticks).toBeGreaterThanOrEqual(10);
      expect(records).toEqual([expect.objectContaining({ fn: 'MAPISendMailW', subject: 'slow' })]);
    });

    test('concurrent sends are queued FIFO on one thread, never interleaved', async () => {
      const subjects = ['first', 'second', 'third'];
      const { result, records } = await runScenario(
        'concurrent',
        { requests: subjects.map((subject) => ({ subject, recipients: [to('a', 'a@example.fr')] })) },
        { OXYMAIL_MAPI_SLEEP_MS: '400' },
      );
      expect(result.results.map((r: any) => r.status)).toEqual([0, 0, 0]);
      expect(result.settled).toEqual([0, 1, 2]);
      expect(records.map((r) => r.subject)).toEqual(subjects);
      for (let i = 1; i < records.length; i++) {
        expect(records[i].tStart).toBeGreaterThanOrEqual(records[i - 1].tEnd);
      }
      expect(new Set(records.map((r) => r.thread)).size).toBe(1);
    });

    test('node exits by itself: after sends, and with the addon loaded but idle', async () => {
      const request = { subject: 's', recipients: [to('a', 'a@example.fr')] };
      for (const sends of [2, 0]) {
        const { run, result, records } = await runScenario('exit', { sends, request }, {}, 45_000);
        expect(run.timedOut).toBe(false);
        expect(run.code).toBe(0);
        expect(result.results).toHaveLength(sends);
        expect(records).toHaveLength(sends);
      }
    });

    test('process.exit() during a send does not wait for the mail client', async () => {
      const request = { subject: 's', recipients: [to('a', 'a@example.fr')] };
      // The client takes 10 minutes; had exit waited for it, the run would be killed at 2 minutes (timedOut), and
      // the client records a send only once it is over: no record, the process did not wait.
      const { run, result, records } = await runScenario('exit', { exitAfterMs: 300, request }, { OXYMAIL_MAPI_SLEEP_MS: '600000' }, 120_000);
      expect(result).toEqual({ exiting: true });
      expect(run.timedOut).toBe(false);
      expect(run.code).toBe(7);
      expect(records).toEqual([]);
    }, 180_000);

    test('argument mistakes throw a TypeError synchronously', async () => {
      const { result } = await runScenario('types', {
        cases: [
          { name: 'no object', raw: 'mail' },
          { name: 'subject missing', remove: ['subject'] },
          { name: 'uiParam as number', uiParamNumber: 5 },
          { name: 'uiParam negative', uiParamBig: '-1' },
          { name: 'uiParam too big', uiParamBig: '18446744073709551616' },
          { name: 'dialog not boolean', override: { dialog: 'yes' } },
          { name: 'recipClass 4', override: { recipients: [{ recipClass: 4, name: 'a', address: 'a@b.c' }] } },
          { name: 'recipient without address', override: { recipients: [{ recipClass: 1, name: 'a' }] } },
          { name: 'attachment path not string', override: { attachments: [{ path: 1, name: 'a' }] } },
          { name: 'NUL in body', override: { body: 'a\u0000b' } },
          { name: 'profile not string', override: { profile: 1 } },
          { name: 'valid', override: { dllPath: 'Z:\\no\\such.dll' } },
        ],
      });
      const outcomes = result.outcomes as any[];
      for (const o of outcomes.slice(0, -1)) {
        expect({ name: o.name, threw: o.threw, errorName: o.errorName }).toEqual({
          name: o.name,
          threw: true,
          errorName: 'TypeError',
        });
      }
      expect(outcomes[outcomes.length - 1]).toEqual({ name: 'valid', threw: false, promise: true });
    });
  });
}
