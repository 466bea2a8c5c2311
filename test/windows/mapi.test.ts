/**
 * The `mapi` protocol through oxymail's public API, with Windows node.exe under Wine, Wine's
 * MAPI32 and the recording mail client registered as the default client. Assertions are on what
 * the mail client recorded, and on the MailError codes the API raises.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SIMPLE_MAPI_CODES, simpleMapiError } from '../../lib/mapi-codes';
import {
  ApiCase,
  CLIENT_DLL,
  registerClient,
  PACKAGE,
  ROOT,
  runApiCases,
  runScenario,
  runUnderWine,
  unregisterClient,
  wineAvailable,
  winPath,
  wineReady,
  wineReg,
  prepareWine,
} from './harness';

jest.setTimeout(180_000);

const user = (mapi: object = {}, extra: object = {}) => ({ label: 'Zoé', email: 'zoe@example.fr', customize: true, protocol: 'mapi', mapi, ...extra });

if (wineReady('MAPI through the public API (Wine)')) {
  describe('MAPI through the public API (Wine)', () => {
    beforeAll(prepareWine, 300_000);

    test('a full send, every error code, dialog, logon, parent window, ANSI fallback, concurrency', async () => {
      const subject = 'Facture n° 12 — échéance 🎉';
      const body = 'Bonjour Zoé,\nla facture est jointe.\nÀ bientôt';
      const vcard = 'BEGIN:VCARD\r\nFN:Zoé\r\nEND:VCARD\r\n';
      const hwnd = Buffer.alloc(8);
      hwnd.writeBigUInt64LE(0x00000000002a0b1cn);
      const out = await runApiCases((dir): ApiCase[] => {
        fs.writeFileSync(path.join(dir, 'relevé août.pdf'), Buffer.alloc(2048, 1));
        const onDisk = winPath(path.join(dir, 'relevé août.pdf'));
        const base = {
          to: ['Bob <bob@example.com>', { name: 'Élodie', address: 'elodie@example.fr' }],
          cc: 'carol@example.com',
          bcc: 'audit@example.com',
          subject,
          text: body,
        };
        return [
          {
            name: 'full',
            settings: user(),
            message: {
              ...base,
              readReceipt: true,
              attachments: [{ path: onDisk }, { contentBase64: Buffer.from(vcard).toString('base64'), filename: 'zoé 🎉.vcf' }],
            },
          },
          {
            name: 'dialog',
            settings: user({ dialog: true }),
            message: { to: 'bob@example.com', subject: 's', text: 'x' },
            sendOptions: { parentWindowBytes: [...hwnd] },
          },
          {
            name: 'logon',
            settings: user({ profile: 'Comptabilité', password: 'mot-de-passé' }),
            message: { to: 'bob@example.com', subject: 's', text: 'x' },
            sendOptions: { parentWindow: '305419896' },
            env: { OXYMAIL_MAPI_PASSWORD: 'mot-de-passé' },
          },
          { name: 'abort', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: '1' } },
          {
            name: 'loginFailure',
            settings: user({ profile: 'Outlook', password: 'wrong' }),
            message: { to: 'bob@example.com', text: 'x' },
            env: { OXYMAIL_MAPI_PASSWORD: 'right' },
          },
          { name: 'unknownRecipient', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: '14' } },
          { name: 'attachmentNotFound', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: '11' } },
          { name: 'unknownCode', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: '99' } },
          {
            name: 'ansi',
            settings: user(),
            message: { to: 'bob@example.com', subject: 'Été', text: 'x' },
            env: { OXYMAIL_MAPI_DLL: winPath(CLIENT_DLL.ansi) },
          },
          { name: 'noDll', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_DLL: 'C:\\nowhere\\nomapi.dll' } },
          {
            name: 'warnHtml',
            settings: user({}, { defaults: { deliveryReceipt: true, importance: 'high' } }),
            mailerOptions: { unsupported: 'warn' },
            message: { to: 'bob@example.com', subject: 'h', html: '<p>Bonjour <b>Zoé</b></p>' },
          },
          { name: 'strictHtml', settings: user(), message: { to: 'bob@example.com', subject: 'h', html: '<p>x</p>' } },
          {
            name: 'strictDefaults',
            settings: user({}, { defaults: { deliveryReceipt: true, importance: 'high', readReceipt: true } }),
            message: { to: 'bob@example.com', subject: 'd', text: 'x' },
          },
          {
            name: 'slowPair',
            settings: user(),
            messages: [
              { to: 'a@example.com', subject: 'one', text: '1' },
              { to: 'b@example.com', subject: 'two', text: '2' },
            ],
            // Both wait for a file that only the scenario's setInterval creates, at its 10th tick.
            env: { OXYMAIL_MAPI_WAIT_FOR: winPath(path.join(dir, 'slowPair.release')) },
            releaseAfterTicks: 10,
          },
        ];
      });

      // A full send: Unicode, classes, SMTP: addresses, display names, attachments from a path and from a Buffer.
      const full = out.full;
      expect(full.sent[0].result).toMatchObject({
        protocol: 'mapi',
        messageId: null,
        savedToSent: true,
        receipts: { read: 'requested', delivery: 'not-requested' },
        warnings: [],
      });
      expect(full.sent[0].result.accepted).toEqual(['bob@example.com', 'elodie@example.fr', 'carol@example.com', 'audit@example.com']);
      const r = full.records[0];
      expect(r).toMatchObject({ fn: 'MAPISendMailW', subject, body, flags: 0, uiParam: '0' });
      expect(r.msgFlags & 2).toBe(2); // MAPI_RECEIPT_REQUESTED
      expect(r.recipients).toEqual([
        { class: 1, name: 'Bob', address: 'SMTP:bob@example.com' },
        { class: 1, name: 'Élodie', address: 'SMTP:elodie@example.fr' },
        { class: 2, name: 'carol@example.com', address: 'SMTP:carol@example.com' },
        { class: 3, name: 'audit@example.com', address: 'SMTP:audit@example.com' },
      ]);
      expect(r.attachments.map((a: any) => [a.name, a.size, a.position])).toEqual([
        ['relevé août.pdf', 2048, -1],
        ['zoé 🎉.vcf', Buffer.byteLength(vcard), -1],
      ]);
      expect(full.tempCopies).toBe(1);
      expect(full.leftovers).toEqual([]);
      expect(full.tempLeft).toEqual([]);

      // Dialog: MAPI_DIALOG | MAPI_LOGON_UI, the Electron handle as ulUIParam.
      expect(out.dialog.records[0]).toMatchObject({ flags: 0x8 | 0x1, uiParam: String(0x2a0b1c) });
      // Profile and password: MAPILogon(NEW_SESSION), the send on that session, MAPILogoff.
      const [logon, send, logoff] = out.logon.records;
      // The password itself is never recorded (record files are CI artifacts): only that it was given and was the expected one.
      expect(logon).toMatchObject({ fn: 'MAPILogon', profile: 'Comptabilité', passwordSet: true, passwordMatches: true, flags: 0x2, uiParam: '305419896' });
      expect(logon).not.toHaveProperty('password');
      expect(send).toMatchObject({ fn: 'MAPISendMailW', session: logon.session, flags: 0 });
      expect(logoff).toMatchObject({ fn: 'MAPILogoff', session: logon.session });
      expect(logon.session).not.toBe(0);

      // Every mapped code is a MailError with the MAPI number, naming the call.
      expect(out.abort.sent[0].error).toMatchObject({ code: 'MAPI_USER_ABORT', mapiCode: 1, message: 'send (MAPISendMailW): the user cancelled' });
      expect(out.loginFailure.sent[0].error).toMatchObject({
        code: 'MAPI_LOGIN_FAILURE',
        mapiCode: 3,
        message: expect.stringMatching(/^send \(MAPILogon\)/),
        hint: expect.stringMatching(/mapi\.profile/),
      });
      expect(out.loginFailure.records).toEqual([expect.objectContaining({ fn: 'MAPILogon', passwordSet: true, passwordMatches: false, return: 3 })]);
      expect(JSON.stringify([out.logon.records, out.loginFailure.records])).not.toMatch(/mot-de-pass|wrong/);
      expect(out.unknownRecipient.sent[0].error).toMatchObject({ code: 'MAPI_UNKNOWN_RECIPIENT', mapiCode: 14 });
      expect(out.attachmentNotFound.sent[0].error).toMatchObject({ code: 'MAPI_ATTACHMENT_NOT_FOUND', mapiCode: 11 });
      expect(out.unknownCode.sent[0].error).toMatchObject({ code: 'MAPI_UNKNOWN_99', mapiCode: 99 });

      // A client without MAPISendMailW, loaded directly: ANSI, with a warning.
      expect(out.ansi.records[0]).toMatchObject({ fn: 'MAPISendMail', subject: 'Été', unicode: false });
      expect(out.ansi.sent[0].result.warnings.map((w: any) => w.code)).toEqual(['MAPI_ANSI']);
      expect(out.noDll.sent[0].error).toMatchObject({
        code: 'MAPI_UNAVAILABLE',
        message: expect.stringMatching(/^send \(LoadLibraryW\): cannot load .*nomapi\.dll \(Win32 error 126\)/),
        hint: expect.stringMatching(/not found/),
      });

      // The capability rule: under 'warn' HTML becomes text and settings defaults are dropped, with warnings.
      const warn = out.warnHtml.sent[0].result;
      expect(out.warnHtml.records[0].body).toMatch(/Bonjour ZOÉ|Bonjour Zoé/);
      expect(warn.warnings.map((w: any) => w.code).sort()).toEqual(['HTML_CONVERTED', 'OPTION_DROPPED', 'OPTION_DROPPED', 'OPTION_DROPPED']);
      expect(warn.receipts.delivery).toBe('not-requested');
      expect(out.strictHtml.sent[0].error.code).toBe('UNSUPPORTED_OPTION');
      expect(out.strictHtml.records).toEqual([]);
      // Under the default 'error' policy too, settings defaults Simple MAPI cannot honour are dropped
      // with a warning, never an error; the read receipt it can honour is kept.
      const strict = out.strictDefaults.sent[0].result;
      expect(strict.warnings).toHaveLength(2);
      expect(strict.warnings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'OPTION_DROPPED', message: expect.stringMatching(/'deliveryReceipt'.*default from the user's settings/) }),
          expect.objectContaining({ code: 'OPTION_DROPPED', message: expect.stringMatching(/'importance'.*default from the user's settings/) }),
        ]),
      );
      expect(strict.receipts).toEqual({ read: 'requested', delivery: 'not-requested' });
      expect(out.strictDefaults.records[0].msgFlags & 2).toBe(2); // MAPI_RECEIPT_REQUESTED

      // Two concurrent sends are queued, not interleaved, and the event loop kept running (they could not finish otherwise).
      const [one, two] = out.slowPair.records;
      expect([one.subject, two.subject]).toEqual(['one', 'two']);
      expect(two.tStart).toBeGreaterThanOrEqual(one.tEnd);
      expect(out.slowPair.ticks).toBeGreaterThanOrEqual(10);
      expect(out.slowPair.sent.every((s: any) => s.result)).toBe(true);
    });

    test("an attachment stream that never ends: the send's AbortSignal or mailer.close() ends it while copying, MAPI is never called", async () => {
      const message = {
        to: 'bob@example.com',
        text: 'x',
        attachments: [
          { contentBase64: Buffer.from('copied first').toString('base64'), filename: 'a.txt' },
          { endless: true, filename: 'flux.pdf' },
        ],
      };
      const out = await runApiCases((): ApiCase[] => [
        { name: 'abort', settings: user(), message, endOnFirstRead: 'abort' },
        { name: 'close', settings: user(), message, endOnFirstRead: 'close' },
      ]);
      expect(out.abort.sent[0].error).toMatchObject({ code: 'ABORTED', message: 'send (MAPI): aborted; the message was not sent' });
      expect(out.close.sent[0].error).toMatchObject({ code: 'MAILER_CLOSED' });
      for (const o of [out.abort, out.close]) {
        // The mail client was never called, the caller's stream is destroyed, no temp copy is left.
        expect(o.records).toEqual([]);
        expect(o.sent[0].endlessDestroyed).toEqual([true]);
        expect(o.tempLeft).toEqual([]);
      }
    });

    test('temp copies are removed whatever happens: client error, streams, a failed stream; copies a client still holds: a warning, or a note in the send error', async () => {
      const bytes = (s: string) => Buffer.byteLength(s);
      const out = await runApiCases((dir): ApiCase[] => [
        {
          name: 'clientError',
          settings: user(),
          message: { to: 'bob@example.com', text: 'x', attachments: [{ contentBase64: Buffer.from('abc').toString('base64'), filename: 'a.txt' }] },
          env: { OXYMAIL_MAPI_RETURN: '2' },
        },
        {
          name: 'stream',
          settings: user(),
          message: { to: 'bob@example.com', text: 'x', attachments: [{ streamChunks: ['Bonjour ', 'Zoé ', '🎉'], delayMs: 20, filename: 'flux.txt' }] },
        },
        {
          name: 'streamFails',
          settings: user(),
          message: {
            to: 'bob@example.com',
            text: 'x',
            attachments: [
              { streamChunks: ['partial'], streamError: 'source gone', filename: 'broken.txt' },
              // Still being written when the first one fails, for longer than removal retries: it must be waited for.
              { streamChunks: ['slow ', 'but ', 'complete', '.'], delayMs: 500, filename: 'slow.txt' },
            ],
          },
        },
        // The client holds the copies open until the scenario has seen the outcome (then it creates the file).
        {
          name: 'held',
          settings: user(),
          message: { to: 'bob@example.com', text: 'x', attachments: [{ contentBase64: Buffer.from('held').toString('base64'), filename: 'held.txt' }] },
          env: { OXYMAIL_MAPI_HOLD_UNTIL: winPath(path.join(dir, 'held.release')) },
        },
        {
          name: 'heldRefused',
          settings: user(),
          message: { to: 'bob@example.com', text: 'x', attachments: [{ contentBase64: Buffer.from('held').toString('base64'), filename: 'held.txt' }] },
          env: { OXYMAIL_MAPI_HOLD_UNTIL: winPath(path.join(dir, 'heldRefused.release')), OXYMAIL_MAPI_RETURN: '1' },
        },
      ]);

      // The client refused the message: MAPI_FAILURE, and the copy it was given is gone anyway.
      expect(out.clientError.sent[0].error).toMatchObject({ code: 'MAPI_FAILURE', mapiCode: 2 });
      expect(out.clientError.records[0].attachments).toEqual([expect.objectContaining({ name: 'a.txt', size: 3 })]);
      expect([out.clientError.tempCopies, out.clientError.leftovers, out.clientError.tempLeft]).toEqual([1, [], []]);

      // A Readable: written whole before the client is called, removed after.
      expect(out.stream.sent[0].result.warnings).toEqual([]);
      expect(out.stream.records[0].attachments).toEqual([expect.objectContaining({ name: 'flux.txt', size: bytes('Bonjour Zoé 🎉') })]);
      expect([out.stream.tempCopies, out.stream.tempLeft]).toEqual([1, []]);

      // A stream that fails: its error (not a cleanup error) is the outcome, the client is never
      // called, and the other copy is finished before the folder is removed.
      expect(out.streamFails.sent[0].error).toMatchObject({
        code: 'ATTACHMENT_NOT_FOUND',
        message: 'send (MAPI): attachments[0] (broken.txt) could not be copied to a temp file: source gone',
      });
      expect(out.streamFails.records).toEqual([]);
      expect(out.streamFails.sent[0].openStreams).toBe(0);
      expect(out.streamFails.tempLeft).toEqual([]);

      // The client keeps the copy open (as some do while they read it): the mail was sent, so the
      // send succeeds, with a TEMP_CLEANUP_FAILED warning; the copy is left where it was.
      const held = out.held.sent[0].result;
      expect(held).toMatchObject({ protocol: 'mapi', accepted: ['bob@example.com'] });
      expect(held.warnings).toEqual([{ code: 'TEMP_CLEANUP_FAILED', message: expect.stringMatching(/could not be removed .*oxymail-/) }]);
      expect(out.held.leftovers).toEqual([out.held.records[0].attachments[0].path]);
      expect(out.held.tempLeft).toEqual([
        expect.stringMatching(/^oxymail-.*\/$/),
        expect.stringMatching(/^oxymail-.*\/0\/$/),
        expect.stringMatching(/^oxymail-.*\/0\/held\.txt$/),
      ]);
      expect(out.held.tempLeftAfterRelease).toEqual([]);

      // The client refused the message and still holds the copy: the send's own error (code and
      // MAPI number kept) also says which folder was left behind.
      const refused = out.heldRefused.sent[0].error;
      const folder = out.heldRefused.records[0].attachments[0].path.split('\\').slice(0, -2).join('\\');
      expect(refused).toMatchObject({ name: 'MailError', code: 'MAPI_USER_ABORT', mapiCode: 1 });
      const expected = `send (MAPISendMailW): the user cancelled; also, the temp copies of in-memory attachments could not be removed (${folder}): `;
      expect(refused.message).toMatch(new RegExp('^' + expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(EBUSY|EPERM|EACCES)\\b'));
      expect(out.heldRefused.leftovers).toEqual([out.heldRefused.records[0].attachments[0].path]);
      expect(out.heldRefused.tempLeftAfterRelease).toEqual([]);
    });

    test('temp copies get safe, readable names, one folder each; the real name goes in lpszFileName', async () => {
      const names: Array<[string, string]> = [
        ['con.txt', '_con.txt'],
        ['NUL', '_NUL'],
        ['aux.tar.gz', '_aux.tar.gz'],
        ['a<b>:c"d|e?f*.txt', 'a_b_c_d_e_f_.txt'],
        ['zoé 🎉.vcf', 'zoe _.vcf'],
        ['🎉.vcf', 'attachment.vcf'],
        ['Ｆａｃｔｕｒｅ.pdf', 'Facture.pdf'],
        ['rapport. ', 'rapport'],
        ['x'.repeat(250) + '.pdf', 'x'.repeat(76) + '.pdf'],
        ['same.txt', 'same.txt'],
        ['same.txt', 'same.txt'],
      ];
      const out = await runApiCases((): ApiCase[] => [
        {
          name: 'names',
          settings: user(),
          message: {
            to: 'bob@example.com',
            text: 'x',
            attachments: names.map(([filename], i) => ({ contentBase64: Buffer.from('n'.repeat(i + 1)).toString('base64'), filename })),
          },
        },
      ]);
      expect(out.names.sent[0].result).toBeDefined();
      const recorded = out.names.records[0].attachments;
      expect(recorded.map((a: any) => a.name)).toEqual(names.map(([name]) => name));
      // <temp>\oxymail-XXXXXX\<index>\<safe name>, each copy whole (sizes 1, 2, 3...).
      expect(recorded.map((a: any) => a.path.split('\\').slice(-3))).toEqual(names.map(([, safe], i) => [expect.stringMatching(/^oxymail-/), String(i), safe]));
      expect(recorded.map((a: any) => a.size)).toEqual(names.map((_, i) => i + 1));
      expect([out.names.tempCopies, out.names.leftovers, out.names.tempLeft]).toEqual([names.length, [], []]);
    });

    test('a client that refuses MAPISendMailW gets MAPISendMail; ANSI never changes a path, address or profile', async () => {
      const out = await runApiCases((dir): ApiCase[] => {
        fs.writeFileSync(path.join(dir, 'Ωmega.txt'), 'omega');
        const ansi = { OXYMAIL_MAPI_DLL: winPath(CLIENT_DLL.ansi) };
        return [
          { name: 'refusesW', settings: user(), message: { to: 'bob@example.com', subject: 'Été', text: 'x' }, env: { OXYMAIL_MAPI_RETURN_W: '27' } },
          {
            name: 'pathOutsideCodePage',
            settings: user(),
            message: { to: 'bob@example.com', text: 'x', attachments: [{ path: winPath(path.join(dir, 'Ωmega.txt')) }] },
            env: ansi,
          },
          {
            name: 'memoryOutsideCodePage',
            settings: user(),
            message: { to: 'bob@example.com', text: 'x', attachments: [{ contentBase64: Buffer.from('omega').toString('base64'), filename: 'Ωmega 🎉.txt' }] },
            env: ansi,
          },
          { name: 'profileOutsideCodePage', settings: user({ profile: 'Compta\uff3c1' }), message: { to: 'bob@example.com', text: 'x' } },
        ];
      });
      // W answered MAPI_E_UNICODE_NOT_SUPPORTED: the same message through MAPISendMail, sent, with a warning.
      expect(out.refusesW.records.map((r) => [r.fn, r.return, r.subject])).toEqual([
        ['MAPISendMailW', 27, 'Été'],
        ['MAPISendMail', 0, 'Été'],
      ]);
      expect(out.refusesW.sent[0].result.warnings.map((w: any) => w.code)).toEqual(['MAPI_ANSI']);

      // A file name outside code page 1252: refused with a stable code, nothing sent.
      expect(out.pathOutsideCodePage.sent[0].error).toMatchObject({
        code: 'MAPI_ANSI_UNREPRESENTABLE',
        message: expect.stringMatching(
          /^send \(MAPISendMail\): the attachment path ".*\\Ωmega\.txt" has characters the Windows ANSI code page cannot hold: nothing was sent$/,
        ),
        hint: expect.stringMatching(/no Unicode MAPI.*rename the file/),
      });
      expect(out.pathOutsideCodePage.records).toEqual([]);
      // In memory, the same name is fine: the temp copy's name is ASCII, the display name loses what 1252 lacks.
      expect(out.memoryOutsideCodePage.sent[0].result.warnings.map((w: any) => w.code)).toEqual(['MAPI_ANSI']);
      expect(out.memoryOutsideCodePage.records[0].attachments).toEqual([
        expect.objectContaining({ name: '_mega __.txt', path: expect.stringMatching(/\\0\\_mega _\.txt$/), size: 5 }),
      ]);
      expect(out.memoryOutsideCodePage.tempLeft).toEqual([]);
      // MAPILogon has no wide form: a profile name that would be best-fitted to another is refused.
      expect(out.profileOutsideCodePage.sent[0].error).toMatchObject({
        code: 'MAPI_ANSI_UNREPRESENTABLE',
        message: 'send (MAPILogon): the profile name "Compta\uff3c1" has characters the Windows ANSI code page cannot hold: nothing was sent',
        hint: expect.stringMatching(/interface 'extended'/),
      });
      expect(out.profileOutsideCodePage.records).toEqual([]);
    });

    test('every Simple MAPI code of the table through the public API, in one node.exe; profile names over 64 characters', async () => {
      const codes = Object.keys(SIMPLE_MAPI_CODES).map(Number);
      const out = await runApiCases((): ApiCase[] => [
        ...codes.map((n) => ({ name: `code${n}`, settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: String(n) } })),
        { name: 'logon3', settings: user({ profile: 'P' }), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_LOGON_RETURN: '3' } },
        { name: 'longProfile', settings: user({ profile: 'p'.repeat(65) }), message: { to: 'bob@example.com', text: 'x' } },
        { name: 'profile64', settings: user({ profile: 'p'.repeat(64) }), message: { to: 'bob@example.com', text: 'x' } },
      ]);
      for (const n of codes) {
        // 26 and 27 from MAPISendMailW make the addon try MAPISendMail, which answers the same here.
        const call = n === 26 || n === 27 ? 'MAPISendMail' : 'MAPISendMailW';
        const expected = simpleMapiError(n, call);
        const { error } = out[`code${n}`].sent[0];
        expect({ n, error }).toEqual({
          n,
          error: { name: 'MailError', code: `MAPI_${SIMPLE_MAPI_CODES[n]}`, mapiCode: n, message: expected.message, hint: expected.hint },
        });
        expect(error.message.startsWith(`send (${call}): `)).toBe(true);
        expect(out[`code${n}`].records.map((r) => [r.fn, r.return])).toEqual(
          call === 'MAPISendMail'
            ? [
                ['MAPISendMailW', n],
                ['MAPISendMail', n],
              ]
            : [['MAPISendMailW', n]],
        );
      }
      // The hints the table has.
      expect(out.code2.sent[0].error.hint).toMatch(/default mail program/);
      expect(out.code26.sent[0].error.hint).toMatch(/default mail program/);
      expect(out.code9.sent[0].error.hint).toMatch(/100 attachments/);
      expect(out.code10.sent[0].error.hint).toMatch(/2000 recipients/);
      expect(out.code14.sent[0].error.hint).toMatch(/address book/);
      expect(out.logon3.sent[0].error).toMatchObject({
        code: 'MAPI_LOGIN_FAILURE',
        mapiCode: 3,
        message: expect.stringMatching(/^send \(MAPILogon\): /),
        hint: expect.stringMatching(/mapi\.profile/),
      });

      // MAPI profile names have at most 64 characters: caught before MAPI is called.
      expect(out.longProfile.sent[0].error).toMatchObject({
        code: 'INVALID_SETTINGS',
        message: expect.stringMatching(/mapi\.profile: is 65 characters long: MAPI profile names have at most 64/),
      });
      expect(out.longProfile.records).toEqual([]);
      expect(out.profile64.records.map((r) => [r.fn, r.profile])).toEqual([
        ['MAPILogon', 'p'.repeat(64)],
        ['MAPISendMailW', undefined],
        ['MAPILogoff', undefined],
      ]);
    });

    test("the Windows workflow's smoke check (scripts/win/smoke.js) passes without calling any mail client", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-smoke-'));
      const record = path.join(dir, 'record.jsonl');
      try {
        const run = await runUnderWine(path.join(ROOT, 'scripts', 'win', 'smoke.js'), [winPath(PACKAGE)], { OXYMAIL_MAPI_RECORD: winPath(record) }, 30_000);
        expect(run.stdout.trim().split(/\r?\n/)).toEqual([
          'ok simple send: MAPI_UNAVAILABLE send (LoadLibraryW): cannot load C:\\oxymail-smoke\\no-such-mapi.dll (Win32 error 126)',
          'ok extended send: MAPI_UNAVAILABLE send (LoadLibraryW): cannot load C:\\oxymail-smoke\\no-such-mapi.dll (Win32 error 126)',
          'ok profiles: MAPI_UNAVAILABLE profiles (LoadLibraryW): cannot load C:\\oxymail-smoke\\no-such-mapi.dll (Win32 error 126)',
        ]);
        expect([run.code, run.timedOut]).toEqual([0, false]);
        // The registered client was never reached.
        expect(fs.existsSync(record)).toBe(false);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('no default mail client registered: a MailError with the no-client hint', async () => {
      await unregisterClient();
      try {
        const out = await runApiCases(() => [{ name: 'none', settings: user(), message: { to: 'bob@example.com', text: 'x' } }]);
        expect(out.none.sent[0].error).toMatchObject({ code: 'MAPI_NOT_SUPPORTED', mapiCode: 26, hint: expect.stringMatching(/default mail program/) });
        expect(out.none.records).toEqual([]);
      } finally {
        await registerClient('wide');
      }
    });
  });
}

if (wineAvailable().ok) {
  describe('oxymail/testing under Wine', () => {
    const userKey = 'HKCU\\Software\\Clients\\Mail';
    const smoke = (extra: { mapi?: object; control?: object } = {}) =>
      runScenario('testing', (dir: string) => ({ record: winPath(path.join(dir, 'smoke.jsonl')), ...extra }));

    test('registers the recording client (HKLM and HKCU), the app sends, the records are read, both defaults restored', async () => {
      const userKeyExisted = (await wineReg(['query', userKey])) === 0;
      await unregisterClient();
      try {
        // A user's own default elsewhere (HKCU wins over HKLM on Windows): overridden, then put back.
        expect(await wineReg(['add', userKey, '/ve', '/d', 'Elsewhere', '/f'])).toBe(0);
        // The app's MAPI settings carry a profile and password: the client checks the password without recording it.
        const { result } = await smoke({ mapi: { profile: 'CI', password: 'ci-sécret' }, control: { password: 'ci-sécret' } });
        expect(result.error).toBeUndefined();
        expect(result.before).toEqual({ machine: null, user: 'Elsewhere' });
        expect(result.during).toEqual({ machine: 'Oxymail Recording Client', user: 'Oxymail Recording Client' });
        expect(result.after).toEqual({ machine: null, user: 'Elsewhere' });
        expect([result.previous, result.previousUser]).toEqual([null, 'Elsewhere']);
        expect(result.dllExists).toBe(true);
        expect(result.result).toMatchObject({ protocol: 'mapi', accepted: ['qa@example.com'] });
        expect(result.records).toEqual([
          expect.objectContaining({ fn: 'MAPILogon', profile: 'CI', passwordSet: true, passwordMatches: true }),
          expect.objectContaining({ fn: 'MAPISendMailW', subject: 'Smoke test ✓', body: 'from CI' }),
          expect.objectContaining({ fn: 'MAPILogoff' }),
        ]);
        expect(result.records[1].recipients).toEqual([{ class: 1, name: 'qa@example.com', address: 'SMTP:qa@example.com' }]);
        expect(JSON.stringify(result.records)).not.toMatch(/ci-s/);

        // No HKCU key at all: set during the test, and the key is gone again afterwards.
        await wineReg(['delete', userKey, '/f']);
        const bare = await smoke();
        expect(bare.result.error).toBeUndefined();
        expect([bare.result.before, bare.result.during.user, bare.result.after]).toEqual([
          { machine: null, user: null },
          'Oxymail Recording Client',
          { machine: null, user: null },
        ]);
        expect(await wineReg(['query', userKey])).not.toBe(0);
        expect(bare.result.records).toHaveLength(1);
      } finally {
        if (userKeyExisted) await wineReg(['add', userKey, '/f']);
        else await wineReg(['delete', userKey, '/f']);
        await registerClient('wide');
      }
    });
  });
}
