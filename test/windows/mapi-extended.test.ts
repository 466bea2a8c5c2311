/**
 * `mapi.interface: 'extended'` through oxymail's public API, with Windows node.exe under Wine:
 * Wine's MAPI32 forwards Extended MAPI to the test provider in the recording client, which
 * records every property, recipient, attachment byte count and the submit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EXTENDED_MAPI_CODES, extendedMapiCode, extendedMapiError } from '../../lib/mapi-codes';
import {
  ApiCase,
  CLIENT_DLL,
  crc32,
  decodeOneOff,
  EXTENDED_FAILURE_POINTS,
  failureHresult,
  PACKAGE,
  ROOT,
  runApiCases,
  runUnderWine,
  winPath,
  wineReady,
  prepareWine,
} from './harness';

jest.setTimeout(180_000);

const PR = {
  SUBJECT_W: '0x0037001f',
  BODY_W: '0x1000001f',
  IMPORTANCE: '0x00170003',
  READ_RECEIPT_REQUESTED: '0x0029000b',
  ORIGINATOR_DELIVERY_REPORT_REQUESTED: '0x0023000b',
  SENTMAIL_ENTRYID: '0x0e0a0102',
  DISPLAY_NAME_W: '0x3001001f',
  EMAIL_ADDRESS_W: '0x3003001f',
  RECIPIENT_TYPE: '0x0c150003',
  ENTRYID: '0x0fff0102',
  ATTACH_LONG_FILENAME_W: '0x3707001f',
} as const;

const user = (mapi: object = {}, extra: object = {}) => ({
  email: 'zoe@example.fr',
  customize: true,
  protocol: 'mapi',
  mapi: { interface: 'extended', ...mapi },
  ...extra,
});
const submits = (records: Array<Record<string, any>>) => records.filter((r) => r.fn === 'IMessage::SubmitMessage');
const BIG = 48 * 1024 * 1024;

if (wineReady('Extended MAPI through the public API (Wine)')) {
  describe('Extended MAPI through the public API (Wine)', () => {
    beforeAll(prepareWine, 300_000);

    test('importance, receipts, Sent Items, Unicode, recipients, attachments, errors, a queue of 20, the capability rule', async () => {
      const subject = 'Échéance de la facture n° 12 🎉';
      let big = Buffer.alloc(0);
      const out = await runApiCases((dir): ApiCase[] => {
        const bigFile = path.join(dir, 'archive 2026.bin');
        const fd = fs.openSync(bigFile, 'w');
        const block = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < BIG / block.length; i++) fs.writeSync(fd, block.fill(i & 0xff));
        fs.closeSync(fd);
        big = fs.readFileSync(bigFile);
        const levels = ['very-low', 'low', 'normal', 'high', 'very-high'];
        return [
          {
            name: 'levels',
            settings: user(),
            messages: levels.map((importance) => ({ to: 'bob@example.com', subject: importance, text: 'x', importance })),
          },
          {
            name: 'full',
            settings: user({ profile: 'Comptabilité' }),
            message: {
              to: ['Bob <bob@example.com>', { name: 'Élodie 🎉', address: 'elodie@example.fr' }],
              cc: 'carol@example.com',
              bcc: 'audit@example.com',
              subject,
              text: 'Bonjour,\nci-joint.',
              readReceipt: true,
              deliveryReceipt: true,
              attachments: [{ path: winPath(bigFile) }, { contentBase64: Buffer.from('BEGIN:VCARD\r\nEND:VCARD\r\n').toString('base64'), filename: 'zoé.vcf' }],
            },
          },
          {
            name: 'wrongPassword',
            settings: user({ profile: 'Outlook', password: 'wrong' }),
            message: { to: 'bob@example.com', text: 'x' },
            env: { OXYMAIL_MAPI_PASSWORD: 'right' },
          },
          {
            name: 'noAddressBook',
            settings: user({ profile: 'Sans carnet' }),
            message: { to: 'Bob <bob@example.com>', text: 'x' },
            env: { OXYMAIL_MAPI_NO_ADDRESS_BOOK: '1' },
          },
          { name: 'noStore', settings: user({ profile: 'Other' }), message: { to: 'bob@example.com', text: 'x' }, env: { OXYMAIL_MAPI_NO_DEFAULT_STORE: '1' } },
          {
            name: 'submitFails',
            settings: user({ profile: 'Third' }),
            message: { to: 'bob@example.com', text: 'x' },
            env: { OXYMAIL_MAPI_FAIL_AT: 'IMessage::SubmitMessage', OXYMAIL_MAPI_FAIL_HR: '0x80004005' },
          },
          { name: 'queue', settings: user(), messages: Array.from({ length: 20 }, (_, i) => ({ to: `c${i}@example.com`, subject: `n${i}`, text: String(i) })) },
          { name: 'html', settings: user(), message: { to: 'bob@example.com', html: '<b>x</b>' } },
          { name: 'dialog', settings: user(), message: { to: 'bob@example.com', text: 'x' }, sendOptions: { dialog: true } },
          { name: 'dialogDefault', settings: user({ dialog: true }), message: { to: 'bob@example.com', subject: 'dd', text: 'x' } },
        ];
      });

      // Five levels -> PR_IMPORTANCE 0, 0, 1, 2, 2 (MAPI has three).
      const byLevel = Object.fromEntries(submits(out.levels.records).map((r) => [r.props[PR.SUBJECT_W], r.props[PR.IMPORTANCE]]));
      expect(byLevel).toEqual({ 'very-low': 0, low: 0, normal: 1, high: 2, 'very-high': 2 });
      expect(out.levels.sent.every((s: any) => s.result?.savedToSent === true)).toBe(true);

      const [full] = submits(out.full.records);
      expect(out.full.sent[0].result).toMatchObject({
        protocol: 'mapi',
        savedToSent: true,
        receipts: { read: 'requested', delivery: 'requested' },
        warnings: [],
      });
      expect(full.props).toMatchObject({
        [PR.SUBJECT_W]: subject,
        [PR.BODY_W]: 'Bonjour,\nci-joint.',
        [PR.READ_RECEIPT_REQUESTED]: true,
        [PR.ORIGINATOR_DELIVERY_REPORT_REQUESTED]: true,
        [PR.SENTMAIL_ENTRYID]: expect.any(String),
      });
      // One-off recipients: the entry ID of each row holds its display name, SMTP and its address.
      expect(
        full.recipients.map((r: any) => {
          const id = decodeOneOff(r[PR.ENTRYID]);
          return [r[PR.RECIPIENT_TYPE], r[PR.DISPLAY_NAME_W], r[PR.EMAIL_ADDRESS_W], id.name, id.type, id.address];
        }),
      ).toEqual([
        [1, 'Bob', 'bob@example.com', 'Bob', 'SMTP', 'bob@example.com'],
        [1, 'Élodie 🎉', 'elodie@example.fr', 'Élodie 🎉', 'SMTP', 'elodie@example.fr'],
        [2, 'carol@example.com', 'carol@example.com', 'carol@example.com', 'SMTP', 'carol@example.com'],
        [3, 'audit@example.com', 'audit@example.com', 'audit@example.com', 'SMTP', 'audit@example.com'],
      ]);
      // A provider without an address book: sent all the same, the rows without PR_ENTRYID.
      expect(out.noAddressBook.sent[0].result).toMatchObject({ protocol: 'mapi', savedToSent: true });
      expect(submits(out.noAddressBook.records).map((r) => r.recipients)).toEqual([
        [{ [PR.RECIPIENT_TYPE]: 1, [PR.DISPLAY_NAME_W]: 'Bob', [PR.EMAIL_ADDRESS_W]: 'bob@example.com', '0x3002001f': 'SMTP' }],
      ]);
      const [bigPart, vcf] = full.attachments;
      expect(bigPart).toMatchObject({ bytes: BIG, crc32: crc32(big), props: { [PR.ATTACH_LONG_FILENAME_W]: 'archive 2026.bin' } });
      expect(bigPart.maxWrite).toBeLessThanOrEqual(64 * 1024);
      expect(vcf).toMatchObject({ bytes: 24, props: { [PR.ATTACH_LONG_FILENAME_W]: 'zoé.vcf' } });
      expect(out.full.leftovers).toEqual([]);
      expect(out.full.tempCopies).toBe(0); // the provider does not record paths: the temp folder check is in mapi.test.ts
      // The 48 MiB file went through in 64 KiB chunks: node.exe's lifetime peak grew by far less than the file.
      expect(out.full.peakGrowthKiB).toBeLessThan(BIG / 1024 / 4);

      expect(out.wrongPassword.records.filter((r) => r.fn === 'MAPILogonEx')).toEqual([
        expect.objectContaining({ profile: 'Outlook', passwordSet: true, passwordMatches: false, session: 0 }),
      ]);
      expect(JSON.stringify(out.wrongPassword.records)).not.toMatch(/wrong/);
      expect(out.wrongPassword.sent[0].error).toMatchObject({
        code: 'MAPI_LOGON_FAILED',
        mapiCode: 0x80040111,
        message: expect.stringMatching(/^send \(MAPILogonEx\)/),
        hint: expect.stringMatching(/must be NULL/),
      });
      expect(out.noStore.sent[0].error).toMatchObject({ code: 'MAPI_NOT_FOUND', hint: expect.stringMatching(/message store/) });
      expect(out.submitFails.sent[0].error).toMatchObject({
        code: 'MAPI_CALL_FAILED',
        message: 'send (IMessage::SubmitMessage): call failed (HRESULT 0x80004005)',
        hint: expect.stringMatching(/bitness/),
      });
      // (A failure at every step, with the leak count, is the next test.)

      // 20 concurrent callers: all sent, one after the other, in the order they called.
      const queued = submits(out.queue.records).map((r) => r.props[PR.SUBJECT_W]);
      expect(queued).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
      expect(out.queue.sent.every((s: any) => s.result)).toBe(true);

      // The capability rule: HTML and the dialog are not Extended MAPI's; a dialog default is dropped with a warning.
      expect(out.html.sent[0].error).toMatchObject({ code: 'UNSUPPORTED_OPTION', message: expect.stringMatching(/'html'.*'mapi-extended'/) });
      expect(out.dialog.sent[0].error).toMatchObject({ code: 'UNSUPPORTED_OPTION', message: expect.stringMatching(/'dialog'/) });
      expect(submits(out.html.records)).toEqual([]);
      expect(out.dialogDefault.sent[0].result.warnings).toEqual([
        expect.objectContaining({ code: 'OPTION_DROPPED', message: expect.stringMatching(/'dialog'/) }),
      ]);
      expect(submits(out.dialogDefault.records)).toHaveLength(1);
    });

    test('through the public API, in one node.exe: a failure at each step, every HRESULT of the table, logon UI, DLL load failures', async () => {
      const hresults = Object.keys(EXTENDED_MAPI_CODES).map(Number);
      const hex = (n: number) => '0x' + n.toString(16);
      const out = await runApiCases((dir): ApiCase[] => {
        fs.writeFileSync(path.join(dir, 'pièce.bin'), Buffer.alloc(100_000, 7));
        const message = { to: ['a@example.fr', 'b@example.fr'], text: 'x', attachments: [{ path: winPath(path.join(dir, 'pièce.bin')) }] };
        const missing = { OXYMAIL_MAPI_DLL: 'C:\\nowhere\\nomapi.dll' };
        const noExtended = { OXYMAIL_MAPI_DLL: winPath(CLIENT_DLL.ansi) };
        return [
          // MAPIInitialize runs once per process: its failure comes first.
          ...EXTENDED_FAILURE_POINTS.map(([at], i) => ({
            name: `step${i}`,
            settings: user(),
            message,
            env: { OXYMAIL_MAPI_FAIL_AT: at, OXYMAIL_MAPI_FAIL_HR: hex(failureHresult(i)) },
          })),
          ...hresults.map((h) => ({
            name: `hr${hex(h)}`,
            settings: user(),
            message: { to: 'bob@example.com', text: 'x' },
            env: { OXYMAIL_MAPI_FAIL_AT: 'IMessage::SubmitMessage', OXYMAIL_MAPI_FAIL_HR: hex(h) },
          })),
          // A logon dialog only when the caller gave a window to own it (distinct profiles: sessions are cached).
          {
            name: 'withWindow',
            settings: user({ profile: 'Avec fenêtre' }),
            message: { to: 'bob@example.com', text: 'x' },
            sendOptions: { parentWindow: '4660' },
          },
          { name: 'withoutWindow', settings: user({ profile: 'Sans fenêtre' }), message: { to: 'bob@example.com', text: 'x' } },
          { name: 'noDll', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: missing },
          { name: 'noExtended', settings: user(), message: { to: 'bob@example.com', text: 'x' }, env: noExtended },
          { name: 'profilesNoDll', listProfiles: true, env: missing },
          { name: 'profilesNoExtended', listProfiles: true, env: noExtended },
        ];
      });

      EXTENDED_FAILURE_POINTS.forEach(([, call], i) => {
        const { error } = out[`step${i}`].sent[0];
        const expected = extendedMapiError(failureHresult(i), call);
        expect({ i, error }).toEqual({
          i,
          error: { name: 'MailError', code: extendedMapiCode(failureHresult(i)), mapiCode: failureHresult(i), message: expected.message, hint: expected.hint },
        });
        expect(error.message.startsWith(`send (${call}): `)).toBe(true);
        const records = out[`step${i}`].records;
        expect(submits(records).filter((r) => r.return === 0)).toEqual([]);
        if (i >= 2) {
          // The session is dropped after a failure: everything the send opened is released by then.
          expect({ i, live: records.filter((r) => r.fn === 'liveObjects') }).toEqual({
            i,
            live: [expect.objectContaining({ count: 0, buffers: 0, after: 'IMAPISession' })],
          });
        } else {
          // Nothing was opened: no session, no object.
          expect(records.filter((r) => r.fn === 'IMAPISession::GetMsgStoresTable')).toEqual([]);
        }
      });
      expect(out.step1.records.filter((r) => r.fn === 'MAPILogonEx')).toEqual([expect.objectContaining({ session: 0, return: failureHresult(1) })]);

      for (const h of hresults) {
        const { error } = out[`hr${hex(h)}`].sent[0];
        const expected = extendedMapiError(h, 'IMessage::SubmitMessage');
        expect({ h: hex(h), error }).toEqual({
          h: hex(h),
          error: { name: 'MailError', code: `MAPI_${EXTENDED_MAPI_CODES[h]}`, mapiCode: h, message: expected.message, hint: expected.hint },
        });
        expect(out[`hr${hex(h)}`].records.filter((r) => r.fn === 'liveObjects')).toEqual([expect.objectContaining({ count: 0, buffers: 0 })]);
      }
      expect(out.hr0x80004005.sent[0].error.hint).toMatch(/bitness/);
      expect(out.hr0x80040607.sent[0].error.hint).toMatch(/no recipient/);

      const logon = (name: string) => out[name].records.find((r) => r.fn === 'MAPILogonEx');
      expect(logon('withWindow')).toMatchObject({ profile: 'Avec fenêtre', uiParam: '4660' });
      expect(logon('withWindow').flags & 0x1).toBe(0x1); // MAPI_LOGON_UI
      expect(logon('withoutWindow')).toMatchObject({ profile: 'Sans fenêtre', uiParam: '0' });
      expect(logon('withoutWindow').flags & 0x1).toBe(0);
      expect([out.withWindow.sent[0].result?.protocol, out.withoutWindow.sent[0].result?.protocol]).toEqual(['mapi', 'mapi']);

      // The DLL cannot be used: MAPI_UNAVAILABLE with the Win32 error inside the HRESULT and its hint.
      expect(out.noDll.sent[0].error).toMatchObject({
        code: 'MAPI_UNAVAILABLE',
        message: 'send (LoadLibraryW): cannot load C:\\nowhere\\nomapi.dll (Win32 error 126)',
        hint: expect.stringMatching(/not found/),
      });
      expect(out.noExtended.sent[0].error).toMatchObject({
        code: 'MAPI_UNAVAILABLE',
        message: expect.stringMatching(
          /^send \(GetProcAddress\): .*oxymail_recording_client_ansi\.dll does not export Extended MAPI \(.*MAPILogonEx.*\) \(Win32 error 127\)$/,
        ),
        hint: expect.stringMatching(/no Extended MAPI/),
      });
      expect(out.profilesNoDll.sent[0].error).toMatchObject({
        code: 'MAPI_UNAVAILABLE',
        message: 'profiles (LoadLibraryW): cannot load C:\\nowhere\\nomapi.dll (Win32 error 126)',
        hint: expect.stringMatching(/not found/),
      });
      expect(out.profilesNoExtended.sent[0].error).toMatchObject({
        code: 'MAPI_UNAVAILABLE',
        message: expect.stringMatching(/^profiles \(GetProcAddress\): .* does not export Extended MAPI \(.*MAPIAdminProfiles.*\) \(Win32 error 127\)$/),
      });
    });

    test('oxymail mapi profiles lists the profiles (MAPIAdminProfiles), the default marked', async () => {
      const cli = path.join(PACKAGE, 'dist', 'cli', 'main.js');
      const json = await runUnderWine(cli, ['mapi', 'profiles', '--json'], { OXYMAIL_MAPI_PROFILES: 'Outlook,Comptabilité,Test 🎉' });
      expect(json.stderr).toBe('');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([
        { name: 'Outlook', isDefault: true },
        { name: 'Comptabilité', isDefault: false },
        { name: 'Test 🎉', isDefault: false },
      ]);
      const table = await runUnderWine(cli, ['mapi', 'profiles'], { OXYMAIL_MAPI_PROFILES: 'Outlook,Comptabilité' });
      expect(table.stdout).toMatch(/^Outlook\s+yes$/m);
      expect(table.stdout).toMatch(/^Comptabilité$/m);
    });
  });
}
