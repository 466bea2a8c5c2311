/**
 * The `mapi` protocol through oxymail's public API, with Windows node.exe under Wine, Wine's
 * MAPI32 and the recording mail client registered as the default client. Assertions are on what
 * the mail client recorded, and on the MailError codes the API raises.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiCase, CLIENT_DLL, registerClient, runApiCases, runScenario, unregisterClient, wineAvailable, winPath, wineReady, prepareWine } from './harness';

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
            settings: user({ profile: 'Comptabilité', password: 'mot-de-passe' }),
            message: { to: 'bob@example.com', subject: 's', text: 'x' },
            sendOptions: { parentWindow: '305419896' },
          },
          { name: 'abort', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_RETURN: '1' } },
          {
            name: 'loginFailure',
            settings: user({ profile: 'Outlook', password: 'wrong' }),
            message: { to: 'bob@example.com', text: 'x' },
            env: { OXYMAIL_MAPI_LOGON_RETURN: '3' },
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
            name: 'slowPair',
            settings: user(),
            messages: [
              { to: 'a@example.com', subject: 'one', text: '1' },
              { to: 'b@example.com', subject: 'two', text: '2' },
            ],
            env: { OXYMAIL_MAPI_SLEEP_MS: '1000' },
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

      // Dialog: MAPI_DIALOG | MAPI_LOGON_UI, the Electron handle as ulUIParam.
      expect(out.dialog.records[0]).toMatchObject({ flags: 0x8 | 0x1, uiParam: String(0x2a0b1c) });
      // Profile and password: MAPILogon(NEW_SESSION), the send on that session, MAPILogoff.
      const [logon, send, logoff] = out.logon.records;
      expect(logon).toMatchObject({ fn: 'MAPILogon', profile: 'Comptabilité', password: 'mot-de-passe', flags: 0x2, uiParam: '305419896' });
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
      expect(out.loginFailure.records.map((x) => x.fn)).toEqual(['MAPILogon']);
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

      // Two concurrent sends are queued, not interleaved, and the event loop kept running.
      const [one, two] = out.slowPair.records;
      expect([one.subject, two.subject]).toEqual(['one', 'two']);
      expect(two.tStart).toBeGreaterThanOrEqual(one.tEnd);
      expect(out.slowPair.ticks).toBeGreaterThanOrEqual(10);
      expect(out.slowPair.sent.every((s: any) => s.result)).toBe(true);
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
    test('registers the recording client, the app sends, the records are read, the previous state is restored', async () => {
      await unregisterClient();
      try {
        let record = '';
        const { result } = await runScenario('testing', (dir: string) => {
          record = winPath(path.join(dir, 'smoke.jsonl'));
          return { record };
        });
        expect(result.error).toBeUndefined();
        expect(result.before).toBeNull();
        expect(result.during).toBe('Oxymail Recording Client');
        expect(result.after).toBeNull();
        expect(result.dllExists).toBe(true);
        expect(result.result).toMatchObject({ protocol: 'mapi', accepted: ['qa@example.com'] });
        expect(result.records).toEqual([expect.objectContaining({ fn: 'MAPISendMailW', subject: 'Smoke test ✓', body: 'from CI' })]);
        expect(result.records[0].recipients).toEqual([{ class: 1, name: 'qa@example.com', address: 'SMTP:qa@example.com' }]);
      } finally {
        await registerClient('wide');
      }
    });
  });
}
